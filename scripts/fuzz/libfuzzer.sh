#!/usr/bin/env bash
# Coverage-guided fuzzing of MiniGPT's loaders with libFuzzer (swiftc -sanitize=fuzzer,address).
# Not part of CI; the seeded mutation campaigns in Tests/FuzzTests run there instead.
#
#   scripts/fuzz/libfuzzer.sh safetensors [RUNS]     # also: char-tokenizer, hf-config
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
  char-tokenizer)
    FLAG=FUZZ_CHAR_TOKENIZER
    FILES="Sources/Tokenizers/CharTokenizer.swift Sources/Tokenizers/Tokenizer.swift Sources/Tokenizers/TokenizerFile.swift Sources/Core/Errors.swift Sources/Core/AtomicFile.swift"
    printf '{"characters":["\\n"," ","a","b","\\u00e9"],"format":"minigpt-char-tokenizer","version":1}' > "$WORK/corpus/char.json" ;;
  hf-config)
    FLAG=FUZZ_HF_CONFIG
    FILES="Sources/Interop/HuggingFaceConfig.swift Sources/Interop/InteropError.swift Sources/Model/ModelConfig.swift Sources/Core/Errors.swift Sources/Core/AtomicFile.swift"
    cp "$ROOT/Tests/InteropTests/Fixtures/hf-gpt2-tiny/config.json" "$WORK/corpus/" ;;
  *) echo "unknown target $TARGET (safetensors, char-tokenizer, hf-config)" >&2; exit 2 ;;
esac
for file in $FILES; do
    sed -E '/^import (Core|Model|Tokenizers)$/d' "$ROOT/$file" > "$WORK/src/$(basename "$file")"
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -D "$FLAG" "$WORK"/src/*.swift "$ROOT/scripts/fuzz/harness.swift" -o "$WORK/fuzz" 2> "$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 1; }
cd "$WORK"
./fuzz -runs="$RUNS" -max_len=65536 -timeout=5 -artifact_prefix="$WORK/crash-" corpus 2>&1 | tail -n 12
