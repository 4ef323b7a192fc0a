#!/bin/sh
# Tokenizer benchmarks, ours vs the peers, on the same text. Needs `swift build -c release` and, for the
# peers only, `pip install tiktoken tokenizers` (CI runs none of this). Writes JSON next to a markdown table.
# Usage: sh Benchmarks/tokenizer_bench.sh ENGLISH_TEXT [OUTDIR]   e.g. ../shared/corpora/shakespeare9.txt
set -eu
TEXT=${1:?usage: tokenizer_bench.sh TEXT [OUTDIR]}
OUT=${2:-Benchmarks/results}
mkdir -p "$OUT"
B=.build/release/minigpt
ZH="$OUT/zh_all.txt"
SOUP="$OUT/unicode_soup.txt"
cat Corpora/tang300.txt Corpora/song100.txt Corpora/zh_sayings.txt > "$ZH"
python3 Benchmarks/peers/make_unicode_soup.py "$SOUP"
{
  echo "## Encode, GPT-2 vocabulary, one thread (median of 7 after a warm-up; ids checked equal first)"
  echo
  echo "| run | bytes | median s | min s | max s | MB/s (median) | note |"
  echo "|---|---|---|---|---|---|---|"
  for f in "$TEXT" "$ZH" "$SOUP"; do
    name=$(basename "$f" .txt)
    python3 Benchmarks/peers/tiktoken_encode.py --input "$f" --repeats 7 --ids-out "$OUT/ids_$name.json" --json "$OUT/tiktoken_$name.json" | sed "s/^| /| $name: /"
    "$B" tokenizer bench --input "$f" --expected-ids "$OUT/ids_$name.json" --repeats 7 --skip-training --json "$OUT/minigpt_encode_$name.json" \
      | grep '^| encode' | sed "s/^| encode/| $name: minigpt encode/"
    rm -f "$OUT/ids_$name.json"
  done
  echo
  echo "## Train a 4,096-token byte-level BPE (GPT-2 pattern) on the first 1,000,000 bytes (median of 5 after a warm-up)"
  echo
  echo "| run | bytes | median s | min s | max s | MB/s (median) | note |"
  echo "|---|---|---|---|---|---|---|"
  "$B" tokenizer bench --input "$TEXT" --repeats 5 --train-bytes 1000000 --train-vocab-size 4096 --json "$OUT/minigpt_train.json" \
    | grep '^| train' | sed 's/^| train/| minigpt train (1 thread)/'
  RAYON_NUM_THREADS=1 python3 Benchmarks/peers/hf_bpe_train.py --input "$TEXT" --vocab-size 4096 --repeats 5 --json "$OUT/hf_train_1thread.json"
  python3 Benchmarks/peers/hf_bpe_train.py --input "$TEXT" --vocab-size 4096 --repeats 5 --json "$OUT/hf_train_allthreads.json"
} | tee "$OUT/tokenizer.md"
rm -f "$ZH" "$SOUP"
