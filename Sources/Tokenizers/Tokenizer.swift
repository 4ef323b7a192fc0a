import Foundation

/// What the model, trainer and generator need from any tokenizer (char-level or byte-level BPE).
public protocol Tokenizer: Sendable {
    /// Number of token ids, including any special tokens.
    var vocabularySize: Int { get }
    /// Id of `<|endoftext|>` when the vocabulary has one.
    var endOfTextID: Int? { get }
    /// Turns text into ids; throws when the text cannot be represented.
    func encode(_ text: String) throws -> [Int]
    /// The raw bytes the ids stand for. A BPE token may end in the middle of a UTF-8 character,
    /// so callers that print should go through `StreamingUTF8Decoder`.
    func decodeBytes(_ ids: [Int]) throws -> [UInt8]
    /// The tokenizer file's contents, starting with its format name and version.
    func serialized() throws -> Data
}

extension Tokenizer {
    /// Decodes ids to text; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}

public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    case unknownCharacter(Character, offset: Int)
    case idOutOfRange(Int, vocabularySize: Int)
    case emptyInput(String)
    case badFile(path: String, reason: String)
    case invalidArgument(String)
    case vocabularyTooSmall(requested: Int, minimum: Int)
    case unknownSpecialToken(String)
    case inconsistentVocabulary(String)

    public var description: String {
        switch self {
        case .unknownCharacter(let character, let offset):
            let code = character.unicodeScalars.map { String(format: "U+%04X", $0.value) }.joined(separator: " ")
            return "character \(character.debugDescription) (\(code)) at character offset \(offset) is not in the tokenizer's vocabulary"
        case .idOutOfRange(let id, let size): return "token id \(id) is out of range for a vocabulary of \(size)"
        case .emptyInput(let what): return "\(what) is empty"
        case .badFile(let path, let reason): return "\(path) is not a valid tokenizer file: \(reason)"
        case .invalidArgument(let message): return message
        case .vocabularyTooSmall(let requested, let minimum):
            return "a vocabulary size of \(requested) is too small: it needs at least \(minimum) (256 byte tokens plus the special tokens)"
        case .unknownSpecialToken(let name): return "\(name.debugDescription) is not a special token of this tokenizer"
        case .inconsistentVocabulary(let reason): return "inconsistent BPE vocabulary: \(reason)"
        }
    }
}
