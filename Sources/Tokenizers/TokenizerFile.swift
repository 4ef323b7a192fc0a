import Core
import Foundation

/// Loads any MiniGPT tokenizer file by the format name it starts with.
public enum TokenizerFile {
    public static func load(_ path: String) throws -> any Tokenizer {
        let data = try AtomicFile.read(path)
        guard !data.isEmpty else { throw TokenizerError.badFile(path: path, reason: "the file is empty") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let format = object["format"] as? String else {
            throw TokenizerError.badFile(path: path, reason: "it does not start with a MiniGPT format name")
        }
        switch format {
        case CharTokenizer.formatName: return try CharTokenizer.parse(object, path: path)
        case BPETokenizer.formatName: return try BPETokenizer.parse(object, path: path)
        default: throw TokenizerError.badFile(path: path, reason: "unknown tokenizer format \"\(format)\"")
        }
    }

    public static func save(_ tokenizer: any Tokenizer, to path: String) throws {
        try AtomicFile.write(try tokenizer.serialized(), to: path)
    }
}
