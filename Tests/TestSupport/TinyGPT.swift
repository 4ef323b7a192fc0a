import Core
import Model

/// A one-layer, two-head GPT for tests that need a real model but not a trained one. Context 64 by default:
/// with the alignment tests' small tokenizer a prompt naming one of the 160 countries can take 50 tokens.
public func tinyGPT(vocabulary: Int, contextLength: Int = 64, seed: UInt64, width: Int = 16) throws -> GPT {
    var generator = SeededGenerator(seed: seed)
    return try GPT(config: ModelConfig(vocabularySize: vocabulary, contextLength: contextLength, layers: 1, heads: 2, width: width),
                   generator: &generator)
}
