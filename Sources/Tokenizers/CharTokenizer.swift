import Foundation

/// Character-level tokenizer: one id per Unicode scalar seen in the training corpus, sorted by code point
/// (the same vocabulary nanoGPT's shakespeare_char builds with `sorted(set(text))`).
public struct CharTokenizer: Tokenizer, Equatable {
    public static let formatName = "minigpt-char-tokenizer"
    public static let formatVersion = 1

    public let characters: [Unicode.Scalar]
    private let idOfScalar: [UInt32: Int]

    public init(characters: [Unicode.Scalar]) throws {
        guard !characters.isEmpty else { throw TokenizerError.emptyInput("the character vocabulary") }
        var index: [UInt32: Int] = [:]
        for (id, scalar) in characters.enumerated() {
            guard index.updateValue(id, forKey: scalar.value) == nil else {
                throw TokenizerError.invalidArgument("character \(String(scalar).debugDescription) appears twice in the vocabulary")
            }
        }
        self.characters = characters
        self.idOfScalar = index
    }

    /// Builds the vocabulary from every distinct character of `corpus`.
    public init(corpus: String) throws {
        guard !corpus.isEmpty else { throw TokenizerError.emptyInput("the corpus") }
        let distinct = Set(corpus.unicodeScalars.map(\.value))
        try self.init(characters: distinct.sorted().compactMap(Unicode.Scalar.init))
    }

    public var vocabularySize: Int { characters.count }
    public var endOfTextID: Int? { nil }

    public func encode(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.unicodeScalars.count)
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            guard let id = idOfScalar[scalar.value] else {
                throw TokenizerError.unknownCharacter(Character(scalar), offset: offset)
            }
            ids.append(id)
        }
        return ids
    }

    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0 && id < characters.count else { throw TokenizerError.idOutOfRange(id, vocabularySize: characters.count) }
            bytes.append(contentsOf: String(characters[id]).utf8)
        }
        return bytes
    }

    public func serialized() throws -> Data {
        let object: [String: Any] = [
            "format": Self.formatName,
            "version": Self.formatVersion,
            "characters": characters.map { String($0) },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    }

    static func parse(_ object: [String: Any], path: String) throws -> CharTokenizer {
        guard let version = object["version"] as? Int, version == formatVersion else {
            throw TokenizerError.badFile(path: path, reason: "unsupported \(formatName) version \(String(describing: object["version"] ?? "none").debugDescription)")
        }
        guard let entries = object["characters"] as? [String] else {
            throw TokenizerError.badFile(path: path, reason: "no \"characters\" list")
        }
        var scalars: [Unicode.Scalar] = []
        for (index, entry) in entries.enumerated() {
            guard entry.unicodeScalars.count == 1, let scalar = entry.unicodeScalars.first else {
                throw TokenizerError.badFile(path: path, reason: "entry \(index) is not a single character")
            }
            scalars.append(scalar)
        }
        do {
            return try CharTokenizer(characters: scalars)
        } catch let error as TokenizerError {
            throw TokenizerError.badFile(path: path, reason: error.description)
        }
    }
}
