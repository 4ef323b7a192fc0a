import Core
import Foundation

/// Loads any MiniGPT tokenizer file by the format name it starts with.
public enum TokenizerFile {
    public static func load(_ path: String) throws -> any Tokenizer {
        let data = try AtomicFile.read(path)
        guard !data.isEmpty else { throw TokenizerError.badFile(path: path, reason: "the file is empty") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let format = object["format"] as? String else {
            let head = String(decoding: data.prefix(64), as: UTF8.self)
            if head.hasPrefix("{") && head.contains("\"format\"") {
                throw TokenizerError.badFile(path: path, reason: "it starts like a MiniGPT tokenizer but is not complete JSON (truncated or corrupt?)")
            }
            throw TokenizerError.badFile(path: path, reason: "it does not start with a MiniGPT format name")
        }
        switch format {
        case CharTokenizer.formatName: return try CharTokenizer.parse(object, path: path)
        case BPETokenizer.formatName: return try BPETokenizer.parse(object, path: path)
        default: throw TokenizerError.badFile(path: path, reason: "unknown tokenizer format \(format.debugDescription)")
        }
    }

    /// Loads a tiktoken rank file; the format holds neither the pre-split pattern nor the special tokens,
    /// so the caller names them (special ids follow the ranks in the order given).
    public static func loadTiktoken(_ path: String, pattern: PreSplitPattern,
                                    specialTokens: [String] = [BPETokenizer.endOfText]) throws -> BPETokenizer {
        try BPETokenizer.loadTiktoken(path, pattern: pattern, specialTokens: specialTokens)
    }

    /// Loads GPT-2's released `encoder.json` + `vocab.bpe`, checking that they agree.
    public static func loadGPT2(encoderJSON: String, vocabBPE: String) throws -> BPETokenizer {
        try BPETokenizer.loadGPT2(encoderJSON: encoderJSON, vocabBPE: vocabBPE)
    }

    public static func save(_ tokenizer: any Tokenizer, to path: String) throws {
        try AtomicFile.write(try tokenizer.serialized(), to: path)
    }
}
