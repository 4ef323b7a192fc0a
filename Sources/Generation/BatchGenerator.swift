import Foundation
import Core
import Model
import Tokenizers

/// One sequence to generate: a prompt, its own sampler settings (and seed) and its own stop condition.
public struct GenerationRequest: Sendable {
    /// Token ids to continue; 1...contextLength of them (a longer prompt is an error, not silently cut).
    public var prompt: [Int]
    public var sampling: SamplingConfig
    public var stop: StopCondition
    /// Whether to report log p of each sampled token (a log-softmax over the vocabulary per token; off unless asked).
    public var logProbabilities: Bool

    public init(prompt: [Int], sampling: SamplingConfig, stop: StopCondition, logProbabilities: Bool = false) {
        self.prompt = prompt
        self.sampling = sampling
        self.stop = stop
        self.logProbabilities = logProbabilities
    }
}

/// What one sequence produced.
public struct GenerationResult: Equatable, Sendable {
    /// Every sampled id in order, including the one that ended generation (an end-of-text token, or the
    /// token that completed a stop string): what a policy-gradient method scores.
    public var tokens: [Int]
    /// log p(token) of each sampled token under the model's own distribution: log-softmax of the raw
    /// logits (temperature 1, before penalties, bias and filters); empty unless the request asked for it.
    public var logProbabilities: [Float]
    /// The text a user sees, as UTF-8 bytes: end-of-text tokens, stop strings and anything after them are
    /// left out. (It may end inside a character when `maxNewTokens` cut a multi-byte character.)
    public var text: [UInt8]
    public var stopReason: StopReason
    /// How many times this sequence's cache was rebuilt because the context was full.
    public var contextRebuilds: Int
}

/// Generates n sequences at once with a KV cache: each prompt is prefilled in one pass, then every step
/// decodes one token for every sequence that is still running, in one batched `InferenceEngine.step`.
/// Each sequence has its own `Sampler` (seeded from its `SamplingConfig`) and `StopChecker`, and stops on
/// its own; the batch shrinks as sequences finish. Because a batched step computes each row exactly as a
/// batch of one would, a sequence's result does not depend on what else is in the batch: generating n
/// requests together equals generating them one at a time.
///
/// When a sequence fills the context, its cache keeps the last `keepOnOverflow` tokens and is rebuilt
/// (see `InferenceSession`); generation goes on until the stop condition ends it.
public final class BatchGenerator {
    public let engine: InferenceEngine
    public let keepOnOverflow: Int?

    public init(model: GPT, keepOnOverflow: Int? = nil) {
        engine = InferenceEngine(model: model)
        self.keepOnOverflow = keepOnOverflow
    }

    public init(engine: InferenceEngine, keepOnOverflow: Int? = nil) {
        self.engine = engine
        self.keepOnOverflow = keepOnOverflow
    }

    /// Generates every request. `onEmit(index, bytes)` receives request `index`'s text as soon as it is
    /// safe to show (the bytes may end inside a UTF-8 character: stream them through a
    /// `StreamingUTF8Decoder` per sequence). Everything is validated before any compute; errors are
    /// `GenerationError`, `ModelError` or `TokenizerError`, each one line.
    public func generate(_ requests: [GenerationRequest], tokenizer: any Tokenizer,
                         onEmit: (Int, [UInt8]) throws -> Void = { _, _ in }) throws -> [GenerationResult] {
        let sessions = try requests.map { _ in try InferenceSession(engine: engine, keepOnOverflow: keepOnOverflow) }
        return try generate(requests, continuing: sessions, tokenizer: tokenizer, onEmit: onEmit)
    }

    /// Like `generate`, but each request's prompt is appended to `sessions[i]`, which may already hold earlier
    /// tokens (a chat reuses the cache of the previous turns). The sessions must use this generator's engine.
    public func generate(_ requests: [GenerationRequest], continuing sessions: [InferenceSession], tokenizer: any Tokenizer,
                         onEmit: (Int, [UInt8]) throws -> Void = { _, _ in }) throws -> [GenerationResult] {
        try validate(requests, sessions: sessions, tokenizer: tokenizer)
        var sequences = try requests.map { try DecodingSequence($0) }
        var logProbabilities: [[Float]] = Array(repeating: [], count: requests.count)
        let rebuildsBefore = sessions.map(\.rebuildCount)
        for index in requests.indices { try sequences[index].prefill(sessions[index]) }
        var running = Array(requests.indices)
        while !running.isEmpty {
            var continuing: [Int] = []
            var nextTokens: [Int] = []
            for index in running {
                let logits = sessions[index].logits
                let (token, emit) = try sequences[index].next(logits: logits, tokenizer: tokenizer)
                if requests[index].logProbabilities {
                    logProbabilities[index].append(Self.logProbability(of: token, in: logits))
                }
                if !emit.isEmpty { try onEmit(index, emit) }
                if sequences[index].stopReason == nil {
                    continuing.append(index)
                    nextTokens.append(token)
                }
            }
            running = continuing
            if !continuing.isEmpty {
                try InferenceSession.appendBatch(continuing.map { sessions[$0] }, tokens: nextTokens)
            }
        }
        return requests.indices.map { index in
            let sequence = sequences[index]
            return GenerationResult(tokens: sequence.tokens, logProbabilities: logProbabilities[index], text: sequence.text,
                                    stopReason: sequence.stopReason!, contextRebuilds: sessions[index].rebuildCount - rebuildsBefore[index])
        }
    }

    /// logits[token] - log(sum_i exp(logits[i])), with the maximum subtracted first.
    static func logProbability(of token: Int, in logits: UnsafeBufferPointer<Float>) -> Float {
        let largest = VectorMath.max(logits.baseAddress!, logits.count)
        var total = 0.0
        for value in logits { total += Foundation.exp(Double(value - largest)) }
        return logits[token] - largest - Float(Foundation.log(total))
    }

    private func validate(_ requests: [GenerationRequest], sessions: [InferenceSession], tokenizer: any Tokenizer) throws {
        let config = engine.config
        guard !requests.isEmpty else { throw GenerationError.invalidRequest("no requests to generate") }
        guard sessions.count == requests.count else {
            throw GenerationError.invalidRequest("\(requests.count) requests but \(sessions.count) sessions")
        }
        guard sessions.allSatisfy({ $0.engine === engine }) else {
            throw GenerationError.invalidRequest("the sessions were made for a different engine")
        }
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw GenerationError.invalidRequest("the tokenizer has \(tokenizer.vocabularySize) tokens but the model \(config.vocabularySize)")
        }
        for (index, request) in requests.enumerated() {
            try request.validate(for: config, which: requests.count == 1 ? "" : "request \(index + 1): ")
        }
    }
}
