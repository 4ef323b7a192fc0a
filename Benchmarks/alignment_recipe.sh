#!/usr/bin/env bash
# The alignment recipe of docs/alignment.md: instruction data -> tokenizer -> base model -> SFT -> reward model.
# Usage: Benchmarks/alignment_recipe.sh OUTDIR [THREADS]   (run from the repository root after
# `swift build -c release`). The measured numbers in docs/alignment.md come from THREADS=1 on a shared
# 2-core machine. PPO is not part of this script yet.
set -euo pipefail
OUT=${1:?usage: alignment_recipe.sh OUTDIR [THREADS]}
THREADS=${2:-1}
B=${MINIGPT:-.build/release/minigpt}
mkdir -p "$OUT"
unset OPENBLAS_CORETYPE

# 1. Data (seed 1 is the shipped Corpora/instruct: 3000 demonstrations, 3000 training pairs).
"$B" data instruct --seed 1 --out "$OUT/data"

# 2. Tokenizer: 512 tokens, gpt2 pre-split (keeps "[" out of a word's pre-token, so a bracketed word is
#    split like the bare word), trained on pretrain.txt plus the text of the training prompts and replies.
(cat "$OUT/data/pretrain.txt"; cat "$OUT/data/sft_train.jsonl" "$OUT/data/pairs_train.jsonl" \
   | grep -oE '"(prompt|response|chosen|rejected)":"[^"]*"' | sed -E 's/^"[a-z]+":"//; s/"$//') > "$OUT/tokenizer-text.txt"
"$B" tokenizer train --input "$OUT/tokenizer-text.txt" --vocab-size 512 --pattern gpt2 \
   --special '<|system|>' --special '<|user|>' --special '<|assistant|>' --special '<|end|>' --out "$OUT/tokenizer.json"

# 3. Base model: 6 layers, width 192 (2.7M parameters), 2500 steps.
"$B" train --corpus "$OUT/data/pretrain.txt" --tokenizer "$OUT/tokenizer.json" --layers 6 --heads 6 --width 192 \
   --context 64 --batch 16 --steps 2500 --lr 1e-3 --warmup 100 --eval-every 500 --out "$OUT/base" --threads "$THREADS"

# 4. SFT at a lower peak rate than the default (3e-4: 1e-3 overfits the larger model within 650 steps).
"$B" sft --base "$OUT/base" --data "$OUT/data" --out "$OUT/sft" --lr 3e-4 --threads "$THREADS"

# 5. Reward model from the SFT model (defaults).
"$B" reward train --init "$OUT/sft" --data "$OUT/data" --out "$OUT/rm" --threads "$THREADS"
