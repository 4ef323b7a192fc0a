import Core
import Foundation
import Generation
import Model
import TestSupport
import Tokenizers

/// A character tokenizer with the chat template's special tokens appended after the characters, so chat can
/// be tested in-process on a tiny random model.
struct CharTokenizerWithSpecials: Tokenizer, SpecialTokenVocabulary {
    let base: CharTokenizer
    let specialTokens: [String: Int]

    init(characters: String) throws {
        base = try CharTokenizer(characters: Array(characters.unicodeScalars))
        var ids: [String: Int] = [:]
        for (offset, name) in ChatTemplate.specialTokens.enumerated() { ids[name] = base.vocabularySize + offset }
        specialTokens = ids
    }

    var vocabularySize: Int { base.vocabularySize + specialTokens.count }
    var endOfTextID: Int? { specialTokens[ChatTemplate.endOfText] }
    func encode(_ text: String) throws -> [Int] { try base.encode(text) }
    func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            if let name = specialTokens.first(where: { $0.value == id })?.key { bytes += Array(name.utf8) } else { bytes += try base.decodeBytes([id]) }
        }
        return bytes
    }
    func serialized() throws -> Data { try base.serialized() }
}

/// A tiny model with large random weights, so the next-token distributions are far from uniform.
func makeRandomModel(vocabularySize: Int, contextLength: Int, seed: UInt64 = 42) throws -> GPT {
    let config = ModelConfig(vocabularySize: vocabularySize, contextLength: contextLength, layers: 2, heads: 2, width: 16)
    let layout = ParameterLayout(config: config)
    var values = randomValues(layout.count, scale: 0.5, seed: seed)
    for tensor in layout.tensors where tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight") || tensor.name == "ln_f.weight" {
        for i in 0..<tensor.count { values[tensor.offset + i] += 1 }
    }
    return try GPT(config: config, parameters: FloatBuffer(values))
}
