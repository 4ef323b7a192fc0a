import Core
import Model
import Tokenizers

/// Generation from an LSTM, with the sampler chain and stop rules of `BatchGenerator`: the prompt is fed
/// token by token into a fresh `LSTM.State`, then each sampled token is fed back. The state has a fixed
/// size and takes the place of the KV cache, so a prompt may be longer than the training context and
/// nothing is ever rebuilt (`contextRebuilds` is 0).
public struct RecurrentGenerator {
    public let model: LSTM

    public init(model: LSTM) { self.model = model }

    /// Generates after `prompt`; `onText` receives the new text as it is produced, whole characters only.
    @discardableResult
    public func generate(prompt: [Int], sampling: SamplingConfig, stop: StopCondition, tokenizer: any Tokenizer,
                         onText: (String) throws -> Void) throws -> GenerationResult {
        let vocabulary = model.config.vocabularySize
        guard tokenizer.vocabularySize == vocabulary else {
            throw GenerationError.invalidRequest("the tokenizer has \(tokenizer.vocabularySize) tokens but the model \(vocabulary)")
        }
        try sampling.validate(vocabularySize: vocabulary)
        guard let first = prompt.first else { throw GenerationError.invalidRequest("the prompt is empty") }
        var sampler = try Sampler(config: sampling)
        var checker = try StopChecker(stop)
        var decoder = StreamingUTF8Decoder()
        let state = model.makeState()
        var logits = try model.step(state, token: first)
        for token in prompt.dropFirst() { logits = try model.step(state, token: token) }
        var history = prompt, generated: [Int] = [], logProbabilities: [Float] = [], text: [UInt8] = []
        while true {
            let token = try sampler.sample(logits: logits, recentTokens: history)
            generated.append(token)
            logProbabilities.append(BatchGenerator.logProbability(of: token, in: logits))
            let step = checker.next(token: token, bytes: try tokenizer.decodeBytes([token]))
            text.append(contentsOf: step.emit)
            let piece = decoder.feed(step.emit)
            if !piece.isEmpty { try onText(piece) }
            if let reason = step.stop {
                let rest = decoder.flush()
                if !rest.isEmpty { try onText(rest) }
                return GenerationResult(tokens: generated, logProbabilities: logProbabilities, text: text, stopReason: reason,
                                        contextRebuilds: 0)
            }
            history.append(token)
            logits = try model.step(state, token: token)
        }
    }
}
