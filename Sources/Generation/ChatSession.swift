import Core
import Model
import Tokenizers

/// A multi-turn conversation with a model in `ChatTemplate` format, keeping the KV cache between turns.
///
/// Each user message is added to the history, the conversation is encoded with `<|assistant|>` at the end,
/// and the reply is generated until `<|end|>` or `maxNewTokens`. When the cache already holds the
/// conversation so far (the usual case), only the new tokens are prefilled.
///
/// History that does not fit: the prompt must leave room for a reply of `min(maxNewTokens, context / 2)`
/// tokens. While it does not, the oldest exchange (a user message and the reply to it) is dropped; the
/// system prompt is always kept. A new message that does not fit even alone with the system prompt is an
/// error (`GenerationError.invalidRequest`) and is not added to the history. A reply that still reaches the
/// end of the context continues with the session's context-full policy (`InferenceSession`).
///
/// Reply k (0, 1, ...) since the last `reset` samples with seed `sampling.seed + k`, so a conversation
/// replays exactly from the same seed.
public final class ChatSession {
    public let template: ChatTemplate
    public let tokenizer: any Tokenizer
    public let system: String?
    public let sampling: SamplingConfig
    public let maxNewTokens: Int
    /// User and assistant messages still in the history, oldest first.
    public private(set) var turns: [ChatTemplate.Message] = []
    /// Exchanges dropped so far to fit the context.
    public private(set) var droppedTurns = 0
    private let generator: BatchGenerator
    private let session: InferenceSession
    private var replies = 0

    /// `engine` defaults to an fp32 `InferenceEngine` over `model` (pass one made with `decodeWeights: .int8`
    /// for faster replies).
    public init(model: GPT, tokenizer: any Tokenizer, system: String? = nil, sampling: SamplingConfig,
                maxNewTokens: Int, engine: InferenceEngine? = nil) throws {
        template = try ChatTemplate(tokenizer: tokenizer)
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw GenerationError.invalidRequest("the tokenizer has \(tokenizer.vocabularySize) tokens but the model \(model.config.vocabularySize)")
        }
        try sampling.validate(vocabularySize: model.config.vocabularySize)
        try StopCondition(maxNewTokens: maxNewTokens).validate()
        if let system, system.isEmpty { throw GenerationError.invalidRequest("the system prompt is empty") }
        self.tokenizer = tokenizer
        self.system = system
        self.sampling = sampling
        self.maxNewTokens = maxNewTokens
        if let engine, engine.model !== model { throw GenerationError.invalidRequest("the engine runs a different model") }
        generator = BatchGenerator(engine: engine ?? InferenceEngine(model: model))
        session = try InferenceSession(engine: generator.engine)
    }

    public var contextLength: Int { session.contextLength }

    /// Tokens kept free for the reply when the history is trimmed.
    public var replyReserve: Int { min(maxNewTokens, max(1, contextLength / 2)) }

    /// Forgets the conversation (the system prompt stays).
    public func reset() {
        turns.removeAll()
        droppedTurns = 0
        replies = 0
        session.reset()
    }

    public struct Reply: Equatable, Sendable {
        public var text: String
        public var stopReason: StopReason
        /// Exchanges dropped from the start of the history to make room for this turn.
        public var droppedTurns: Int
    }

    /// Adds `message` from the user, generates the assistant's reply (streamed to `onText` in whole
    /// characters), adds it to the history and returns it.
    public func respond(to message: String, onText: (String) throws -> Void = { _ in }) throws -> Reply {
        guard !message.isEmpty else { throw GenerationError.invalidRequest("the message is empty") }
        let user = ChatTemplate.Message(role: .user, text: message)
        let (prompt, dropped) = try fittedPrompt(adding: user)
        turns.removeFirst(dropped)
        droppedTurns += dropped
        turns.append(user)

        var replySampling = template.replySampling(sampling)
        replySampling.seed = sampling.seed &+ UInt64(replies)
        let stop = template.replyStop(maxNewTokens: maxNewTokens)
        // Reuse the cache when it holds a prefix of the prompt; otherwise start over.
        let reused = session.tokens.count < prompt.count && Array(prompt.prefix(session.tokens.count)) == session.tokens
        if !reused { session.reset() }
        let newTokens = Array(prompt[session.tokens.count...])
        var decoder = StreamingUTF8Decoder()
        let result = try generator.generate([GenerationRequest(prompt: newTokens, sampling: replySampling, stop: stop)],
                                            continuing: [session], tokenizer: tokenizer) { _, bytes in
            let piece = decoder.feed(bytes)
            if !piece.isEmpty { try onText(piece) }
        }[0]
        let rest = decoder.flush()
        if !rest.isEmpty { try onText(rest) }
        replies += 1
        let content = result.stopReason == .endOfText ? Array(result.tokens.dropLast()) : result.tokens
        let text = String(decoding: result.text, as: UTF8.self)
        turns.append(ChatTemplate.Message(role: .assistant, text: text, tokens: content))
        return Reply(text: text, stopReason: result.stopReason, droppedTurns: dropped)
    }

    /// The prompt for the history plus `user`, and how many of the oldest turns it leaves out.
    private func fittedPrompt(adding user: ChatTemplate.Message) throws -> (prompt: [Int], dropped: Int) {
        let budget = contextLength - replyReserve
        let systemMessages = system.map { [ChatTemplate.Message(role: .system, text: $0)] } ?? []
        var dropped = 0
        while true {
            let prompt = try template.encode(systemMessages + turns[dropped...] + [user], tokenizer: tokenizer, promptAssistant: true)
            if prompt.count <= budget { return (prompt, dropped) }
            guard dropped < turns.count else {
                throw GenerationError.invalidRequest(
                    "the message is too long: with the system prompt it takes \(prompt.count) tokens, and the context of "
                        + "\(contextLength) must keep \(replyReserve) for the reply")
            }
            // Drop the oldest exchange: a user message and the assistant reply after it.
            dropped += 1
            if dropped < turns.count, turns[dropped].role == .assistant { dropped += 1 }
        }
    }
}
