#!/bin/sh
# Tokenizer benchmarks, ours vs the peers, on the same text. Needs `swift build -c release` and, for the
# peers only, `pip install tiktoken tokenizers` (CI runs none of this). Writes JSON next to a markdown table.
# Each row first waits (up to QUIET_TIMEOUT seconds, default 300) for other processes to use < 0.15 core and
# records how busy the machine was when it started ("busy" column).
# Usage: sh Benchmarks/tokenizer_bench.sh ENGLISH_TEXT [OUTDIR]   e.g. Corpora/shakespeare9.txt
set -eu
TEXT=${1:?usage: tokenizer_bench.sh TEXT [OUTDIR]}
OUT=${2:-Benchmarks/results}
QUIET_TIMEOUT=${QUIET_TIMEOUT:-300}
mkdir -p "$OUT"
B=.build/release/minigpt
ZH="$OUT/zh_all.txt"
SOUP="$OUT/unicode_soup.txt"
cat Corpora/tang300.txt Corpora/song100.txt Corpora/zh_sayings.txt > "$ZH"
python3 Benchmarks/peers/make_unicode_soup.py "$SOUP"
quiet() { python3 Benchmarks/peers/wait_quiet.py --timeout "$QUIET_TIMEOUT" | awk '{ print $1 }'; }
row() { busy=$(quiet); "$@" | grep '^| ' | grep -v '^| benchmark' | sed "s/ |\$/ | $busy |/"; }
{
  echo "## Encode, GPT-2 vocabulary, one thread (median of 7 after a warm-up; ids checked equal first)"
  echo
  echo "| run | bytes | median s | min s | max s | MB/s (median) | note | busy cores at start |"
  echo "|---|---|---|---|---|---|---|---|"
  for f in "$TEXT" "$ZH" "$SOUP"; do
    name=$(basename "$f" .txt)
    row python3 Benchmarks/peers/tiktoken_encode.py --input "$f" --repeats 7 --ids-out "$OUT/ids_$name.json" --json "$OUT/tiktoken_$name.json" \
      | sed "s/^| /| $name: /"
    row "$B" tokenizer bench --input "$f" --expected-ids "$OUT/ids_$name.json" --repeats 7 --skip-training --json "$OUT/minigpt_encode_$name.json" \
      | sed "s/^| encode/| $name: minigpt encode/"
    rm -f "$OUT/ids_$name.json"
  done
  echo
  echo "## Train a 4,096-token byte-level BPE (GPT-2 pattern) on the first 1,000,000 bytes (median of 5 after a warm-up)"
  echo
  echo "| run | bytes | median s | min s | max s | MB/s (median) | note | busy cores at start |"
  echo "|---|---|---|---|---|---|---|---|"
  row "$B" tokenizer bench --input "$TEXT" --repeats 5 --train-bytes 1000000 --train-vocab-size 4096 --skip-encoding --json "$OUT/minigpt_train.json" \
    | sed 's/^| train/| minigpt train (1 thread)/'
  row env RAYON_NUM_THREADS=1 python3 Benchmarks/peers/hf_bpe_train.py --input "$TEXT" --vocab-size 4096 --repeats 5 --json "$OUT/hf_train_1thread.json"
  row python3 Benchmarks/peers/hf_bpe_train.py --input "$TEXT" --vocab-size 4096 --repeats 5 --json "$OUT/hf_train_allthreads.json"
} | tee "$OUT/tokenizer.md"
rm -f "$ZH" "$SOUP"
