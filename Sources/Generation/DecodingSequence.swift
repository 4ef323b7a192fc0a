import Model
import Tokenizers

/// One sequence's state between decoding steps: its sampler, its stop checker, the tokens the penalties look
/// back over, and what it has produced so far. `BatchGenerator` and `ContinuousBatcher` both advance their
/// sequences through this type, so a request samples the same tokens whichever of them runs it.
public struct DecodingSequence {
    public let request: GenerationRequest
    /// Every sampled id in order, including the one that ended generation.
    public private(set) var tokens: [Int] = []
    /// The text a user sees, as UTF-8 bytes (see `GenerationResult.text`).
    public private(set) var text: [UInt8] = []
    public private(set) var stopReason: StopReason?
    private var sampler: Sampler
    private var checker: StopChecker
    private var history: [Int] = []  // the cache's window after the prompt, then every token that continued

    /// Makes the sampler and stop checker (throwing on bad settings); nothing runs yet.
    public init(_ request: GenerationRequest) throws {
        self.request = request
        sampler = try Sampler(config: request.sampling)
        checker = try StopChecker(request.stop)
    }

    /// Runs the prompt on `session` (one prefill pass); afterwards `session.logits` predict the first token.
    public mutating func prefill(_ session: InferenceSession) throws {
        try session.append(request.prompt)
        history = session.tokens
    }

    /// Samples the next token from `logits` and feeds it to the stop checker. Returns the token and the bytes
    /// that are now safe to show. If `stopReason` is still nil afterwards, the caller must append the token
    /// to the sequence's session before the next call.
    public mutating func next(logits: UnsafeBufferPointer<Float>, tokenizer: any Tokenizer) throws -> (token: Int, emit: [UInt8]) {
        // Finite weights can still overflow to inf/NaN activations; the sampler would treat NaN as banned.
        guard logits.allSatisfy(\.isFinite) else {
            throw GenerationError.samplingFailed("the model produced non-finite (NaN or infinite) logits at step \(tokens.count + 1)")
        }
        let token = try sampler.sample(logits: logits, recentTokens: history)
        tokens.append(token)
        let step = checker.next(token: token, bytes: try tokenizer.decodeBytes([token]))
        text.append(contentsOf: step.emit)
        if let reason = step.stop { stopReason = reason } else { history.append(token) }
        return (token, step.emit)
    }
}

extension GenerationRequest {
    /// Checks the request against the model it will run on; `which` (e.g. "request 2: ") prefixes the message.
    public func validate(for config: ModelConfig, which: String = "") throws {
        do {
            try sampling.validate(vocabularySize: config.vocabularySize)
            try stop.validate()
        } catch let error as GenerationError {
            throw error.prefixed(which)
        }
        guard !prompt.isEmpty else { throw GenerationError.invalidRequest(which + "the prompt is empty") }
        guard prompt.count <= config.contextLength else {
            throw GenerationError.invalidRequest(
                which + "the prompt is \(prompt.count) tokens, longer than the model's context of \(config.contextLength)")
        }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw GenerationError.invalidRequest(which + "prompt token id \(bad) is outside the vocabulary of \(config.vocabularySize)")
        }
    }
}
