import Core
import Foundation
import Tokenizers

/// Tokenizer files transformers can read, and MiniGPT tokenizers from the files transformers writes.
///
/// A character vocabulary has no GPT-2 equivalent, so it is exported as a `tokenizers` `tokenizer.json`
/// for `PreTrainedTokenizerFast`: a `WordLevel` model whose vocabulary is the characters (id = MiniGPT's
/// id), a `Split` pre-tokenizer with the regex `[\s\S]` (every character, newlines included, becomes its
/// own piece) and a `Fuse` decoder (pieces are joined without spaces). `AutoTokenizer.from_pretrained`
/// then encodes and decodes exactly as `CharTokenizer` does; an unknown character is an error in both.
/// Importing reads that file back. GPT-2's byte-level BPE travels as `vocab.json` + `merges.txt`
/// (or the `BPE` model inside a `tokenizer.json`) and becomes a `BPETokenizer`, see `GPT2BPEFiles`.
public enum HuggingFaceTokenizer {
    /// Larger tokenizer files are refused before parsing (GPT-2's tokenizer.json is about 1.4 MB).
    public static let maxBytes = 64 << 20
    public static let characterSplitRegex = "[\\s\\S]"

    /// File name -> contents for the export directory.
    public static func files(for tokenizer: any Tokenizer, contextLength: Int) throws -> [String: Data] {
        if let characters = tokenizer as? CharTokenizer {
            var vocabulary: [String: Int] = [:]
            for (id, scalar) in characters.characters.enumerated() { vocabulary[String(scalar)] = id }
            let file: [String: Any] = [
                "version": "1.0",
                "truncation": NSNull(), "padding": NSNull(), "added_tokens": [] as [Any], "normalizer": NSNull(),
                "pre_tokenizer": ["type": "Split", "pattern": ["Regex": characterSplitRegex], "behavior": "Isolated", "invert": false] as [String: Any],
                "post_processor": NSNull(),
                "decoder": ["type": "Fuse"],
                "model": ["type": "WordLevel", "vocab": vocabulary, "unk_token": "<unk>"] as [String: Any],
            ]
            let config: [String: Any] = [
                "tokenizer_class": "PreTrainedTokenizerFast",
                "model_max_length": contextLength,
                "clean_up_tokenization_spaces": false,
            ]
            return ["tokenizer.json": try JSONSerialization.data(withJSONObject: file, options: [.sortedKeys]),
                    "tokenizer_config.json": try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])]
        }
        return try GPT2BPEFiles.files(for: tokenizer, contextLength: contextLength)
    }

    /// The tokenizer of a transformers model directory: our character `tokenizer.json`, GPT-2's
    /// `vocab.json` + `merges.txt`, or a `tokenizer.json` holding a BPE model.
    public static func load(directory: String) throws -> any Tokenizer {
        let tokenizerJSON = directory + "/tokenizer.json"
        let vocabJSON = directory + "/vocab.json", mergesTXT = directory + "/merges.txt"
        let manager = FileManager.default
        var bpeModel: [String: Any]?
        if manager.fileExists(atPath: tokenizerJSON) {
            let object = try readJSONObject(tokenizerJSON)
            guard let model = object["model"] as? [String: Any], let type = model["type"] as? String else {
                throw InteropError.badFile(path: tokenizerJSON, reason: "no \"model\" with a \"type\"")
            }
            if type == "WordLevel" { return try characterTokenizer(object, model: model, path: tokenizerJSON) }
            if type == "BPE" { bpeModel = model }
            else if !manager.fileExists(atPath: vocabJSON) {
                throw InteropError.unsupported(path: tokenizerJSON, reason: "a \(type) tokenizer; MiniGPT reads character WordLevel and GPT-2 BPE")
            }
        }
        if manager.fileExists(atPath: vocabJSON), manager.fileExists(atPath: mergesTXT) {
            return try GPT2BPEFiles.load(vocabJSON: vocabJSON, mergesTXT: mergesTXT)
        }
        if let bpeModel { return try bpeFromTokenizerJSON(bpeModel, path: tokenizerJSON) }
        throw InteropError.badFile(path: directory, reason: "no tokenizer.json, and no vocab.json with merges.txt")
    }

    static func readJSONObject(_ path: String) throws -> [String: Any] {
        let data = try AtomicFile.read(path)
        guard data.count <= maxBytes else { throw InteropError.badFile(path: path, reason: "\(data.count) bytes is too large for a tokenizer") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw InteropError.badFile(path: path, reason: "not a JSON object (truncated or corrupt?)")
        }
        return object
    }

    /// A `WordLevel` model over single characters with the character-splitting pre-tokenizer.
    static func characterTokenizer(_ object: [String: Any], model: [String: Any], path: String) throws -> CharTokenizer {
        func unsupported(_ reason: String) -> InteropError { .unsupported(path: path, reason: reason) }
        let split = object["pre_tokenizer"] as? [String: Any]
        guard split?["type"] as? String == "Split",
              (split?["pattern"] as? [String: Any])?["Regex"] as? String == characterSplitRegex else {
            throw unsupported("a WordLevel tokenizer that does not split into single characters")
        }
        guard let vocabulary = model["vocab"] as? [String: Any], !vocabulary.isEmpty else {
            throw InteropError.badFile(path: path, reason: "the WordLevel model has no \"vocab\" object")
        }
        var byID = [Unicode.Scalar?](repeating: nil, count: vocabulary.count)
        for (text, value) in vocabulary {
            guard let id = (value as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), id >= 0, id < byID.count, byID[id] == nil else {
                throw InteropError.badFile(path: path, reason: "\(text.debugDescription) has id \(value): ids must be 0..<\(byID.count), each once")
            }
            guard text.unicodeScalars.count == 1 else { throw unsupported("vocabulary entry \(text.debugDescription) is not one character") }
            byID[id] = text.unicodeScalars.first!
        }
        do {
            return try CharTokenizer(characters: byID.map { $0! })
        } catch {
            throw InteropError.badFile(path: path, reason: "\(error)")
        }
    }

    /// transformers 5 saves GPT-2's vocabulary only inside tokenizer.json: write it out as the
    /// vocab.json + merges.txt pair and load that.
    static func bpeFromTokenizerJSON(_ model: [String: Any], path: String) throws -> any Tokenizer {
        guard let vocabulary = model["vocab"] as? [String: Any], let merges = model["merges"] as? [Any] else {
            throw InteropError.badFile(path: path, reason: "the BPE model lacks \"vocab\" or \"merges\"")
        }
        var lines = ["#version: 0.2"]
        for (index, merge) in merges.enumerated() {
            if let text = merge as? String {
                lines.append(text)
            } else if let pair = merge as? [String], pair.count == 2 {
                lines.append(pair[0] + " " + pair[1])
            } else {
                throw InteropError.badFile(path: path, reason: "merge \(index) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        let scratch = NSTemporaryDirectory() + "minigpt-bpe-\(getpid())-\(UInt64.random(in: 0 ..< .max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Scratch files need no fsync (AtomicFile's costs milliseconds each).
        guard FileManager.default.createFile(atPath: scratch + "/vocab.json", contents: try JSONSerialization.data(withJSONObject: vocabulary)),
              FileManager.default.createFile(atPath: scratch + "/merges.txt", contents: Data((lines.joined(separator: "\n") + "\n").utf8)) else {
            throw CoreError.writeFailed(path: scratch, reason: "cannot write scratch files")
        }
        return try GPT2BPEFiles.load(vocabJSON: scratch + "/vocab.json", mergesTXT: scratch + "/merges.txt")
    }
}
