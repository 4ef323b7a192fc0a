import Foundation
import Tokenizers

/// SEAM(bpe): where GPT-2's byte-level BPE plugs in. The `BPETokenizer` type arrives with the tokenizer
/// branch; until it is merged, GPT-2 vocabularies are refused here with a clear message, and only this
/// file changes when it lands:
///
/// ```swift
/// static func load(vocabJSON: String, mergesTXT: String) throws -> any Tokenizer {
///     // transformers' vocab.json / merges.txt are GPT-2's encoder.json / vocab.bpe under other names.
///     try BPETokenizer.loadGPT2(encoderJSON: vocabJSON, vocabBPE: mergesTXT)
/// }
/// static func files(for tokenizer: any Tokenizer, contextLength: Int) throws -> [String: Data] {
///     // vocab.json (GPT-2 byte-to-unicode stand-ins -> id, <|endoftext|> last), merges.txt
///     // ("#version: 0.2", then merge i = the two tokens forming token 256 + i) and
///     // tokenizer_config.json {"tokenizer_class": "GPT2Tokenizer", ...}.
/// }
/// ```
enum GPT2BPESeam {
    static func load(vocabJSON: String, mergesTXT: String) throws -> any Tokenizer {
        throw InteropError.unsupported(path: vocabJSON, reason: "GPT-2 BPE vocabularies need the byte-level BPE tokenizer, which this build does not have yet")
    }

    static func files(for tokenizer: any Tokenizer, contextLength: Int) throws -> [String: Data] {
        throw InteropError.unsupported(path: "tokenizer", reason: "only character vocabularies can be exported to Hugging Face by this build (\(type(of: tokenizer)) is not supported yet)")
    }
}
