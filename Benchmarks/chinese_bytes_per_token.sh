#!/bin/sh
# Bytes per token on the Chinese corpora: GPT-2's vocabulary vs BPEs trained here, for docs/tokenizer.md.
# In-sample: trained on all three files. Held out: trained on tang300 + zh_sayings, measured on song100.
# Usage (from the package root, after `swift build -c release`): sh Benchmarks/chinese_bytes_per_token.sh
set -eu
B=.build/release/minigpt
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ALL="Corpora/tang300.txt Corpora/song100.txt Corpora/zh_sayings.txt"
bpt() { "$B" tokenizer stats --tokenizer "$1" --input $2 --top 0 | awk -v f="$3" '$1 == f { print $(NF-1) }'; }
echo "| tokenizer | vocab | tang300 | song100 | zh_sayings | all three | song100 held out |"
echo "|---|---|---|---|---|---|---|"
row() {  # name, tokenizer, vocab, held-out tokenizer
  t=$(bpt "$2" Corpora/tang300.txt Corpora/tang300.txt:)
  s=$(bpt "$2" Corpora/song100.txt Corpora/song100.txt:)
  z=$(bpt "$2" Corpora/zh_sayings.txt Corpora/zh_sayings.txt:)
  a=$(bpt "$2" "$ALL" total:)
  h=$(bpt "$4" Corpora/song100.txt Corpora/song100.txt:)
  echo "| $1 | $3 | $t | $s | $z | $a | $h |"
}
row "GPT-2 (released)" Models/gpt2-tokenizer 50257 Models/gpt2-tokenizer
for pattern in gpt2 gpt4; do
  for size in 1024 4096 8192 16384; do
    rm -f "$T/all.json" "$T/held.json"
    "$B" tokenizer train --input $ALL --vocab-size $size --pattern $pattern --out "$T/all.json" > /dev/null
    "$B" tokenizer train --input Corpora/tang300.txt Corpora/zh_sayings.txt --vocab-size $size --pattern $pattern --out "$T/held.json" > /dev/null
    row "trained here, $pattern pattern" "$T/all.json" $size "$T/held.json"
  done
done
