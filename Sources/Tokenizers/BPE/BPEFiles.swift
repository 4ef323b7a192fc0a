import Core
import Foundation

/// Reading and writing BPE vocabularies: MiniGPT's own file, tiktoken's rank file and GPT-2's
/// `encoder.json` + `vocab.bpe` pair.
///
/// MiniGPT's file is JSON whose first keys are the format name and version:
/// ```
/// {"format": "minigpt-bpe-tokenizer", "version": 1, "pattern": "gpt2", "token_count": 50256,
///  "special_tokens": {"<|endoftext|>": 50256},
///  "tokens": ["IQ==", ...]}        // base64 of each ordinary token's bytes, in id (= rank) order
/// ```
extension BPETokenizer {
    public func serialized() throws -> Data {
        var text = "{\"format\": \"\(Self.formatName)\", \"version\": \(Self.formatVersion), "
        text += "\"pattern\": \"\(pattern.rawValue)\", \"token_count\": \(tokens.count),\n"
        let specials = try JSONSerialization.data(withJSONObject: specialTokens, options: [.sortedKeys])
        text += " \"special_tokens\": " + String(decoding: specials, as: UTF8.self) + ",\n"
        text += " \"tokens\": [\n"
        for (id, token) in tokens.enumerated() {
            text += "  \"" + Data(token).base64EncodedString() + (id + 1 < tokens.count ? "\",\n" : "\"\n")
        }
        text += " ]}\n"
        return Data(text.utf8)
    }

    static func parse(_ object: [String: Any], path: String) throws -> BPETokenizer {
        func bad(_ reason: String) -> TokenizerError { .badFile(path: path, reason: reason) }
        guard let version = object["version"] as? Int else { throw bad("no \"version\"") }
        guard version == formatVersion else {
            throw bad("\(formatName) version \(version) is not supported (this build reads version \(formatVersion))")
        }
        guard let patternName = object["pattern"] as? String else { throw bad("no \"pattern\"") }
        guard let pattern = PreSplitPattern(rawValue: patternName) else {
            throw bad("unknown pattern \"\(patternName)\" (expected one of \(PreSplitPattern.allCases.map(\.rawValue)))")
        }
        guard let entries = object["tokens"] as? [String] else { throw bad("no \"tokens\" list of strings") }
        guard let count = object["token_count"] as? Int else { throw bad("no \"token_count\"") }
        guard count == entries.count else {
            throw bad("token_count says \(count) tokens but the list has \(entries.count) (truncated or edited?)")
        }
        guard let specialObject = object["special_tokens"] as? [String: Any] else { throw bad("no \"special_tokens\" object") }
        var specials: [String: Int] = [:]
        for (name, value) in specialObject {
            guard let id = value as? Int else { throw bad("special token \(name.debugDescription) has no integer id") }
            specials[name] = id
        }
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(entries.count)
        for (id, entry) in entries.enumerated() {
            guard let data = Data(base64Encoded: entry) else { throw bad("token \(id) is not valid base64: \(entry.debugDescription)") }
            tokens.append([UInt8](data))
        }
        do {
            return try BPETokenizer(tokens: tokens, specialTokens: specials, pattern: pattern)
        } catch let error as TokenizerError {
            throw bad(error.description)
        }
    }

    // MARK: tiktoken

    /// The `.tiktoken` rank file of the ordinary tokens: one `base64(bytes) rank` line per token, by rank.
    /// Special tokens and the pattern are not part of that format.
    public func tiktokenData() -> Data {
        var text = ""
        for (id, token) in tokens.enumerated() {
            text += Data(token).base64EncodedString() + " \(id)\n"
        }
        return Data(text.utf8)
    }

    /// Parses a `.tiktoken` rank file. Ranks must be exactly 0..<n, each once, and the byte strings
    /// distinct; the special tokens, which the format does not hold, get ids n, n+1, ... in the order given.
    public static func tiktoken(_ data: Data, path: String, pattern: PreSplitPattern,
                                specialTokens: [String] = [endOfText]) throws -> BPETokenizer {
        func bad(_ reason: String) -> TokenizerError { .badFile(path: path, reason: reason) }
        guard !data.isEmpty else { throw bad("the file is empty") }
        guard let text = String(data: data, encoding: .utf8) else { throw bad("it is not UTF-8 text") }
        var byRank: [[UInt8]?] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let rank = Int(fields[1]), rank >= 0 else {
                throw bad("line \(lineNumber) is not \"<base64> <rank>\": \(String(line.prefix(60)).debugDescription)")
            }
            guard let bytes = Data(base64Encoded: String(fields[0])) else { throw bad("line \(lineNumber): invalid base64") }
            guard rank < 1 << 24 else { throw bad("line \(lineNumber): rank \(rank) is implausibly large") }
            if rank >= byRank.count { byRank.append(contentsOf: repeatElement(nil, count: rank + 1 - byRank.count)) }
            guard byRank[rank] == nil else { throw bad("rank \(rank) appears twice (line \(lineNumber))") }
            byRank[rank] = [UInt8](bytes)
        }
        guard !byRank.isEmpty else { throw bad("no tokens") }
        if let gap = byRank.firstIndex(where: { $0 == nil }) {
            throw bad("rank \(gap) is missing; ranks must be 0..<\(byRank.count) without gaps")
        }
        var specials: [String: Int] = [:]
        for name in specialTokens where specials[name] == nil { specials[name] = byRank.count + specials.count }
        do {
            return try BPETokenizer(tokens: byRank.map { $0! }, specialTokens: specials, pattern: pattern)
        } catch let error as TokenizerError {
            throw bad(error.description)
        }
    }

    public static func loadTiktoken(_ path: String, pattern: PreSplitPattern,
                                    specialTokens: [String] = [endOfText]) throws -> BPETokenizer {
        try tiktoken(try AtomicFile.read(path), path: path, pattern: pattern, specialTokens: specialTokens)
    }

    public func saveTiktoken(to path: String) throws {
        try AtomicFile.write(tiktokenData(), to: path)
    }

    // MARK: GPT-2's release files

    /// GPT-2's printable stand-ins for bytes: printable Latin-1 bytes stand for themselves, the others map
    /// to U+0100, U+0101, ... in byte order. Returns the byte each stand-in scalar means.
    static func gpt2ByteOfScalar() -> [UInt32: UInt8] {
        var result: [UInt32: UInt8] = [:]
        var extra: UInt32 = 0
        for byte in 0...255 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                result[UInt32(byte)] = UInt8(byte)
            } else {
                result[256 + extra] = UInt8(byte)
                extra += 1
            }
        }
        return result
    }

    /// Loads GPT-2's released vocabulary: ids come from `encoder.json` (`<|endoftext|>` becomes the
    /// special token), and `vocab.bpe` is checked against it: merge i must form token 256 + i.
    public static func loadGPT2(encoderJSON: String, vocabBPE: String) throws -> BPETokenizer {
        let byteOf = gpt2ByteOfScalar()
        let encoderData = try AtomicFile.read(encoderJSON)
        guard let encoder = (try? JSONSerialization.jsonObject(with: encoderData)) as? [String: Any] else {
            throw TokenizerError.badFile(path: encoderJSON, reason: "not a JSON object of token -> id")
        }
        func bytesOf(_ text: Substring.UnicodeScalarView, path: String) throws -> [UInt8] {
            try text.map { scalar in
                guard let byte = byteOf[scalar.value] else {
                    throw TokenizerError.badFile(path: path, reason: "\(String(text).debugDescription) uses a character outside GPT-2's byte alphabet")
                }
                return byte
            }
        }
        var byID: [[UInt8]?] = Array(repeating: nil, count: encoder.count)
        var specials: [String: Int] = [:]
        for (text, value) in encoder {
            guard let id = value as? Int, id >= 0, id < encoder.count else {
                throw TokenizerError.badFile(path: encoderJSON, reason: "\(text.debugDescription) has id \(value), outside 0..<\(encoder.count)")
            }
            guard byID[id] == nil else { throw TokenizerError.badFile(path: encoderJSON, reason: "id \(id) appears twice") }
            if text == endOfText {
                specials[text] = id
                byID[id] = []
            } else {
                byID[id] = try bytesOf(Substring(text).unicodeScalars, path: encoderJSON)
            }
        }
        let ordinary = byID.count - specials.count
        guard specials[endOfText] == ordinary else {
            throw TokenizerError.badFile(path: encoderJSON, reason: "<|endoftext|> must be the last id (\(ordinary)), found \(specials[endOfText].map(String.init) ?? "none")")
        }
        let tokens = byID.prefix(ordinary).map { $0! }

        let mergesData = try AtomicFile.read(vocabBPE)
        guard let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw TokenizerError.badFile(path: vocabBPE, reason: "it is not UTF-8 text")
        }
        var lines = mergesText.split(separator: "\n", omittingEmptySubsequences: true)
        if let first = lines.first, first.hasPrefix("#version") { lines.removeFirst() }
        guard lines.count + 256 == ordinary else {
            throw TokenizerError.badFile(path: vocabBPE, reason: "\(lines.count) merges, but encoder.json has \(ordinary) tokens (256 bytes + merges expected)")
        }
        for (index, line) in lines.enumerated() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.badFile(path: vocabBPE, reason: "line \(index + 2) is not two tokens separated by a space")
            }
            let merged = try bytesOf(parts[0].unicodeScalars, path: vocabBPE) + bytesOf(parts[1].unicodeScalars, path: vocabBPE)
            guard merged == tokens[256 + index] else {
                throw TokenizerError.badFile(path: vocabBPE, reason: "merge \(index) (line \(index + 2)) forms \(merged), but encoder.json's token \(256 + index) is \(tokens[256 + index])")
            }
        }
        do {
            return try BPETokenizer(tokens: tokens, specialTokens: specials, pattern: .gpt2)
        } catch let error as TokenizerError {
            throw TokenizerError.badFile(path: encoderJSON, reason: error.description)
        }
    }

    /// Loads GPT-2's vocabulary from a directory holding `encoder.json` and `vocab.bpe`.
    public static func loadGPT2(directory: String) throws -> BPETokenizer {
        try loadGPT2(encoderJSON: directory + "/encoder.json", vocabBPE: directory + "/vocab.bpe")
    }
}
