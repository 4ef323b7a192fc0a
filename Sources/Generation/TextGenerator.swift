import Model
import Tokenizers

/// Generation of one sequence with streaming output: the single-request case of `BatchGenerator`.
public struct TextGenerator {
    public let generator: BatchGenerator

    public init(model: GPT, keepOnOverflow: Int? = nil) {
        generator = BatchGenerator(model: model, keepOnOverflow: keepOnOverflow)
    }

    public init(engine: InferenceEngine, keepOnOverflow: Int? = nil) {
        generator = BatchGenerator(engine: engine, keepOnOverflow: keepOnOverflow)
    }

    /// Generates after `prompt`; `onText` receives the new text as it is produced, whole characters only.
    @discardableResult
    public func generate(prompt: [Int], sampling: SamplingConfig, stop: StopCondition, tokenizer: any Tokenizer,
                         onText: (String) throws -> Void) throws -> GenerationResult {
        var decoder = StreamingUTF8Decoder()
        let result = try generator.generate([GenerationRequest(prompt: prompt, sampling: sampling, stop: stop)],
                                            tokenizer: tokenizer) { _, bytes in
            let piece = decoder.feed(bytes)
            if !piece.isEmpty { try onText(piece) }
        }[0]
        let rest = decoder.flush()
        if !rest.isEmpty { try onText(rest) }
        return result
    }
}
