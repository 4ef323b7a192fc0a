#!/bin/sh
# Encode throughput under whatever load the machine has: tiktoken and MiniGPT alternate, ROUNDS times,
# each taking the median and the minimum of 25 timed runs, so both see the same conditions.
# Usage: sh Benchmarks/interleaved_encode.sh TEXT... (after `swift build -c release`)
set -eu
ROUNDS=${ROUNDS:-3}
echo "| round | text | tiktoken median s | tiktoken min s | minigpt median s | minigpt min s | busy cores at start |"
echo "|---|---|---|---|---|---|---|"
round=1
while [ $round -le "$ROUNDS" ]; do
  for f in "$@"; do
    busy=$(python3 Benchmarks/peers/wait_quiet.py --timeout 0 | awk '{ print $1 }')
    t=$(python3 Benchmarks/peers/tiktoken_encode.py --input "$f" --repeats 25 | awk -F'|' '{ print $4 "|" $5 }')
    m=$(.build/release/minigpt tokenizer bench --input "$f" --skip-training --repeats 25 | tail -1 | awk -F'|' '{ print $4 "|" $5 }')
    echo "| $round | $(basename "$f") |$t|$m| $busy |"
  done
  round=$((round + 1))
done
