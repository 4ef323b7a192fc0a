import Model
import Tokenizers

/// Autoregressive generation with a sliding window: each new token is predicted from the last
/// `contextLength` tokens. (Recomputes the window every step; the KV-cache path replaces this.)
public struct TextGenerator {
    public let model: GPT

    public init(model: GPT) {
        self.model = model
    }

    /// Generates up to `maxNewTokens` tokens after `prompt`. `pick` chooses the next id from the logits
    /// and the tokens so far; `emit` receives each new id and returns false to stop early.
    /// Throws when the prompt is empty or longer than the context.
    @discardableResult
    public func generate(prompt: [Int], maxNewTokens: Int,
                         pick: (UnsafeBufferPointer<Float>, [Int]) -> Int,
                         emit: (Int) throws -> Bool) throws -> [Int] {
        let context = model.config.contextLength
        guard !prompt.isEmpty else { throw ModelError.badInput("the prompt is empty") }
        guard prompt.count <= context else {
            throw ModelError.badInput("the prompt is \(prompt.count) tokens, longer than the model's context of \(context)")
        }
        guard maxNewTokens >= 1 else { throw ModelError.badInput("--max-new-tokens must be at least 1, got \(maxNewTokens)") }
        var tokens = prompt
        for _ in 0..<maxNewTokens {
            let window = tokens.suffix(context).map(Int32.init)
            try model.forward(tokens: window, batch: 1, time: window.count)
            let next = pick(model.logits(row: window.count - 1), tokens)
            tokens.append(next)
            guard try emit(next) else { break }
        }
        return Array(tokens[prompt.count...])
    }
}
