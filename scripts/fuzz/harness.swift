// libFuzzer entry point: one loader per build, chosen by -D (see libfuzzer.sh). Every input must
// either load or throw; a trap, an ASan report or a timeout is a finding.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
#if FUZZ_SAFETENSORS
    _ = try? Safetensors.decode(data, path: "fuzz.safetensors")
#elseif FUZZ_TOKENIZER_FILE
    // TokenizerFile reads a path; /dev/shm keeps the per-input write cheap.
    let path = (access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()) + "minigpt-libfuzzer-\(getpid()).json"
    FileManager.default.createFile(atPath: path, contents: data)
    _ = try? TokenizerFile.load(path)
#elseif FUZZ_HF_CONFIG
    _ = try? HuggingFaceConfig.parse(data, path: "config.json")
#endif
    return 0
}
