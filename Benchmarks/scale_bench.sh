#!/bin/sh
# Corpora larger than memory: generate a corpus of SIZE (default 3GB) as 32 documents, then
#  - `minigpt tokenizer prepare` with GPT-2's vocabulary on 1 and 2 threads: throughput and resident memory,
#  - tiktoken's encode_ordinary_batch and Hugging Face tokenizers' encode_batch (all threads, streamed the
#    same way) on the same text,
#  - `minigpt train` for 20 steps from a 10 MB token file and from the whole one: peak resident memory in
#    each quarter of the run (flat, and the same for both, when memory does not grow with the data).
# Needs `swift build -c release`, `pip install tiktoken tokenizers`, and about 1.6 x SIZE of disk under
# SCALE_WORK (default: a fresh temporary directory, removed at the end). Each row first waits up to
# QUIET_TIMEOUT seconds (default 300) for the machine to be idle and records how busy it was.
# Usage: sh Benchmarks/scale_bench.sh [SIZE [OUTDIR]]   e.g. 50MB for a quick check that it runs
set -eu
SIZE=${1:-3GB}
OUT=${2:-Benchmarks/results/scale}
QUIET_TIMEOUT=${QUIET_TIMEOUT:-300}
B=.build/release/minigpt
[ -x "$B" ] || { echo "build first: swift build -c release" >&2; exit 1; }
WORK=${SCALE_WORK:-$(mktemp -d)}
[ -n "${SCALE_WORK:-}" ] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$WORK"
ROWS="$OUT/scale.jsonl"
: > "$ROWS"

python3 Benchmarks/peers/make_scale_corpus.py --size "$SIZE" --out "$WORK/corpus"
BYTES=$(cat "$WORK"/corpus/* | wc -c)
head -c 10000000 "$WORK/corpus/doc0000.txt" > "$WORK/small.txt"
"$B" tokenizer import --gpt2 Models/gpt2-tokenizer --out "$WORK/gpt2.json" > /dev/null
"$B" tokenizer prepare --tokenizer "$WORK/gpt2.json" --input "$WORK/small.txt" --out "$WORK/small.bin" > /dev/null

busy() { python3 Benchmarks/peers/wait_quiet.py --timeout "$QUIET_TIMEOUT" | awk '{ print $1 }'; }
# Appends one JSON row, with the corpus size and the busy level at its start.
row() {
  level=$(busy)
  "$@" | tail -n 1 | python3 -c "import json, sys; r = json.loads(sys.stdin.read()); r.update(busyCores=float('$level'), corpusBytes=$BYTES); print(json.dumps(r))" >> "$ROWS"
}
watch() { label=$1; shift; python3 Benchmarks/peers/rss_watch.py --label "$label" -- "$@"; }

for threads in 1 2; do
  row watch "minigpt prepare, $threads thread(s)" "$B" tokenizer prepare --tokenizer "$WORK/gpt2.json" --input "$WORK/corpus" \
    --out "$WORK/tokens.bin" --threads "$threads"
done
row watch "tiktoken encode_ordinary_batch, 2 threads" python3 Benchmarks/peers/stream_encode.py --engine tiktoken --input "$WORK/corpus" --threads 2
row watch "HF tokenizers encode_batch, 2 threads" python3 Benchmarks/peers/stream_encode.py --engine hf --input "$WORK/corpus" --threads 2
SHAPE="--layers 2 --heads 2 --width 64 --context 64 --batch 4 --steps 20 --eval-every 10 --eval-batches 4"
for corpus in small tokens; do
  rm -rf "$WORK/run-$corpus"
  # shellcheck disable=SC2086
  row watch "minigpt train 20 steps, $(du -h "$WORK/$corpus.bin" | cut -f1) token file" "$B" train --corpus "$WORK/$corpus.bin" \
    --tokenizer "$WORK/gpt2.json" $SHAPE --out "$WORK/run-$corpus"
done

python3 - "$ROWS" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" <<'PY' | tee "$OUT/scale.md"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"## Corpora larger than memory: {rows[0]['corpusBytes'] / 1e6:.0f} MB corpus, {sys.argv[2]}\n")
print("| run | seconds | MB/s | peak RSS MB | peak RSS per quarter of the run (MB) | busy cores at start |")
print("|---|---|---|---|---|---|")
for r in rows:
    rate = f"{r['corpusBytes'] / 1e6 / r['seconds']:.1f}" if "prepare" in r["label"] or "encode" in r["label"] else ""
    quarters = " / ".join(f"{q:.0f}" for q in r["peakMBPerQuarter"])
    print(f"| {r['label']} | {r['seconds']:.1f} | {rate} | {r['peakMB']:.0f} | {quarters} | {r['busyCores']:.2f} |")
PY
