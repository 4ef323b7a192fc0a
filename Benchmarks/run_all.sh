#!/usr/bin/env bash
# Every MiniGPT benchmark, with the peers side by side where they are installed (pip install torch
# transformers tiktoken tokenizers; each peer is skipped, and says so, when missing). Results go to
# Benchmarks/results/; Benchmarks/RESULTS.md quotes them. Takes about 20 minutes on 2 cores.
# Usage (from the package root): bash Benchmarks/run_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release
B=.build/release/minigpt
R=Benchmarks/results
mkdir -p "$R"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE overrides OpenBLAS's own kernel choice (Haswell halves sgemm on Zen 5)" >&2
fi
$B bench kernels --json "$R/kernels.json" | tee "$R/kernels.md"
$B bench train --shapes S,M,L --threads 1,2 --wait-for-quiet --json "$R/training-ours.json" | tee "$R/training-ours.md"
python3 Benchmarks/compare_training.py --shapes S,M --threads 1,2 --rounds 3 --out "$R/training"
sh Benchmarks/tokenizer_bench.sh Corpora/shakespeare9.txt "$R"
$B bench generate --wait-for-quiet --json "$R/generate-ours.json" | tee "$R/generate-ours.md"
for t in 1 2; do
  python3 Benchmarks/peers/hf_generate.py --shape M --threads $t --json "$R/hf_generate_M_t$t.json" || echo "Hugging Face peer skipped" >&2
done
