#!/usr/bin/env bash
# Soak test: resident memory (VmRSS from /proc/PID/status) of a long generation and a long training run,
# sampled every 0.25 s. A flat line means no per-token or per-step leak. Not part of the test suite.
#
#   Benchmarks/soak.sh                       # 10,000 generated tokens, 3,000 training steps
#   TOKENS=20000 STEPS=5000 Benchmarks/soak.sh
#
# Prints one markdown row per run: RSS at 1 s, at a quarter of the run, at the end, the maximum, and the
# growth over the last three quarters.
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENS=${TOKENS:-10000}
STEPS=${STEPS:-3000}
BIN=.build/release/minigpt
[ -x "$BIN" ] || swift build -c release
WORK=$(mktemp -d /tmp/minigpt-soak.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CORPUS=Corpora/shakespeare9.txt

# Samples VmRSS (kB) of PID into FILE until it exits.
sample() {
    local pid=$1 file=$2
    while kill -0 "$pid" 2>/dev/null; do
        awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null >> "$file" || true
        sleep 0.25
    done
}

# Prints: | run | seconds | samples | at 1 s | at 25% | at end | max | growth 25% -> end |
# The first checkpoint and evaluation allocate their buffers once, so a leak shows as growth after 25%.
report() {
    local what=$1 file=$2 seconds=$3
    awk -v what="$what" -v seconds="$seconds" '
        NF { v[n++] = $1 }
        END {
            early = (n > 8) ? 4 : 0; quarter = int(n / 4); last = v[n - 1]; max = 0
            for (i = 0; i < n; i++) if (v[i] > max) max = v[i]
            printf "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %+.1f |\n", what, seconds, n,
                   v[early] / 1024, v[quarter] / 1024, last / 1024, max / 1024, (last - v[quarter]) / 1024
        }' "$file"
}

echo "soak: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "| run | seconds | samples | RSS at 1 s (MB) | at 25% (MB) | at end (MB) | max (MB) | growth 25% -> end (MB) |"
echo "|---|---|---|---|---|---|---|---|"

# A small model to generate from: 4 layers x 128 wide, context 64, briefly trained.
"$BIN" train --corpus "$CORPUS" --layers 4 --heads 4 --width 128 --context 64 --batch 8 --steps 20 \
    --eval-every 20 --eval-batches 1 --out "$WORK/model" 2>/dev/null

start=$(date +%s)
"$BIN" generate --model "$WORK/model" --prompt "ROMEO:" --max-new-tokens "$TOKENS" --seed 1 > "$WORK/generated.txt" &
pid=$!
sample "$pid" "$WORK/generate.rss"
wait "$pid"
report "generate $TOKENS tokens (context 64, sliding)" "$WORK/generate.rss" $(( $(date +%s) - start ))
echo "generated $(wc -m < "$WORK/generated.txt") characters" >&2

start=$(date +%s)
"$BIN" train --corpus "$CORPUS" --layers 4 --heads 4 --width 128 --context 64 --batch 8 --steps "$STEPS" \
    --eval-every 500 --eval-batches 5 --save-every 250 --out "$WORK/train" 2>/dev/null &
pid=$!
sample "$pid" "$WORK/train.rss"
wait "$pid"
report "train $STEPS steps (checkpoint every 250)" "$WORK/train.rss" $(( $(date +%s) - start ))
