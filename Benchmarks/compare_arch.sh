#!/usr/bin/env bash
# Attention against recurrence: a GPT and an LSTM of the same size, trained for the same wall time on
# Shakespeare, then compared (docs/architectures.md). About 10 minutes on 2 cores; run it on a quiet machine.
# Writes Benchmarks/results/compare-arch/ (report.md, results.json, four SVG figures, both models' runs).
# Usage (from the package root): bash Benchmarks/compare_arch.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release
rm -rf Benchmarks/results/compare-arch/runs
.build/release/minigpt bench compare-arch --wait-for-quiet --out Benchmarks/results/compare-arch "$@"
