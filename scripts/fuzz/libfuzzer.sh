#!/usr/bin/env bash
# Coverage-guided fuzzing of MiniGPT's loaders with libFuzzer (swiftc -sanitize=fuzzer,address).
# Not part of CI; the seeded mutation campaigns in Tests/FuzzTests run there instead.
#
#   scripts/fuzz/libfuzzer.sh safetensors [RUNS]     # also: tokenizer-file (char and BPE), hf-config
#
# The loader's sources are compiled into one module with the harness (their `import Core` / `import
# Model` lines stripped), so no SwiftPM build is needed. Seeds come from Tests fixtures; findings land
# in $WORK/crash-*. RUNS defaults to 200000 inputs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${1:-safetensors}
RUNS=${2:-200000}
WORK=${WORK:-/tmp/minigpt-libfuzzer-$TARGET}
mkdir -p "$WORK/src" "$WORK/corpus"
case "$TARGET" in
  safetensors)
    FLAG=FUZZ_SAFETENSORS
    FILES="Sources/Core/Safetensors.swift Sources/Core/Errors.swift Sources/Core/AtomicFile.swift"
    cp "$ROOT/Tests/CoreTests/Fixtures/reference.safetensors" "$ROOT/Tests/InteropTests/Fixtures/hf-gpt2-tiny/model.safetensors" "$WORK/corpus/" ;;
  tokenizer-file)
    FLAG=FUZZ_TOKENIZER_FILE
    FILES="$(cd "$ROOT" && ls Sources/Tokenizers/*.swift Sources/Tokenizers/BPE/*.swift) Sources/Core/Errors.swift Sources/Core/AtomicFile.swift"
    printf '{"characters":["\\n"," ","a","b","\\u00e9"],"format":"minigpt-char-tokenizer","version":1}' > "$WORK/corpus/char.json"
    if [ -x "$ROOT/.build/release/minigpt" ]; then   # a BPE tokenizer file from the transformers fixture
        rm -rf "$WORK/bpe-model"
        "$ROOT/.build/release/minigpt" import hf --from "$ROOT/Tests/InteropTests/Fixtures/hf-gpt2-tiny" --out "$WORK/bpe-model" 2>/dev/null
        cp "$WORK/bpe-model/tokenizer.json" "$WORK/corpus/bpe.json"
    fi ;;
  hf-config)
    FLAG=FUZZ_HF_CONFIG
    FILES="Sources/Interop/HuggingFaceConfig.swift Sources/Interop/InteropError.swift Sources/Model/ModelConfig.swift Sources/Core/Errors.swift Sources/Core/AtomicFile.swift"
    cp "$ROOT/Tests/InteropTests/Fixtures/hf-gpt2-tiny/config.json" "$WORK/corpus/" ;;
  *) echo "unknown target $TARGET (safetensors, tokenizer-file, hf-config)" >&2; exit 2 ;;
esac
for file in $FILES; do
    sed -E '/^import (Core|Model|Tokenizers|CBLAS)$/d' "$ROOT/$file" > "$WORK/src/$(basename "$file")"
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -D "$FLAG" "$WORK"/src/*.swift "$ROOT/scripts/fuzz/harness.swift" -o "$WORK/fuzz" 2> "$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 1; }
cd "$WORK"
# detect_leaks=0: Foundation's FileManager.contents leaks 4 KB reading an empty file (swift-foundation, not MiniGPT).
ASAN_OPTIONS=detect_leaks=0 ./fuzz -runs="$RUNS" -max_len=65536 -timeout=5 -detect_leaks=0 -artifact_prefix="$WORK/crash-" corpus 2>&1 | tail -n 12
