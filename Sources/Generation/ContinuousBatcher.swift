import Model
import Tokenizers

/// Continuous batching over one engine: up to `slots` sequences decode together, and sequences join and
/// leave between steps instead of the whole batch starting and ending at once (what a server needs).
///
/// `admit` prefills a new request's prompt into a free slot; `step` then samples one token for every active
/// sequence and decodes all that go on in one batched `InferenceEngine.step`; a sequence that stops, or is
/// `cancel`led, frees its slot at once. Each sequence is advanced by `DecodingSequence`, exactly as
/// `BatchGenerator` advances it, so with `BatchedDecoding.rowByRow` (or alone in the batch) a request gives
/// the same tokens as `BatchGenerator`/`minigpt generate` with the same seed.
///
/// Not thread-safe: one thread drives it.
public final class ContinuousBatcher {
    /// What one sequence did in a step.
    public struct Event: Equatable, Sendable {
        public var id: Int
        /// Bytes now safe to show (they may end inside a UTF-8 character).
        public var emit: [UInt8]
        /// Set when the sequence ended in this step; its slot is free again.
        public var finished: StopReason?
        /// Tokens sampled so far, including one that ended the sequence.
        public var generatedTokens: Int
    }

    private struct Slot {
        let id: Int
        let session: InferenceSession
        var sequence: DecodingSequence
    }

    public let engine: InferenceEngine
    public let tokenizer: any Tokenizer
    public let capacity: Int
    private var idle: [InferenceSession]
    private var active: [Slot] = []

    /// `slots` KV caches are made up front (1...1024 of them).
    public init(engine: InferenceEngine, tokenizer: any Tokenizer, slots: Int, keepOnOverflow: Int? = nil) throws {
        guard (1...1024).contains(slots) else { throw GenerationError.invalidRequest("slots must be in 1...1024, got \(slots)") }
        guard tokenizer.vocabularySize == engine.config.vocabularySize else {
            throw GenerationError.invalidRequest("the tokenizer has \(tokenizer.vocabularySize) tokens but the model \(engine.config.vocabularySize)")
        }
        self.engine = engine
        self.tokenizer = tokenizer
        capacity = slots
        idle = try (0..<slots).map { _ in try InferenceSession(engine: engine, keepOnOverflow: keepOnOverflow) }
    }

    public var freeSlots: Int { idle.count }
    public var activeIDs: [Int] { active.map(\.id) }

    /// Validates `request`, prefills its prompt into a free slot; it samples its first token in the next `step`.
    /// Throws `GenerationError.invalidRequest` when no slot is free or `id` is already active.
    public func admit(id: Int, request: GenerationRequest) throws {
        guard let session = idle.last else { throw GenerationError.invalidRequest("no free slot") }
        guard !active.contains(where: { $0.id == id }) else { throw GenerationError.invalidRequest("sequence \(id) is already running") }
        try request.validate(for: engine.config)
        var sequence = try DecodingSequence(request)
        session.reset()
        try sequence.prefill(session)
        idle.removeLast()
        active.append(Slot(id: id, session: session, sequence: sequence))
    }

    /// Drops sequence `id` (no-op when it is not active) and frees its slot.
    public func cancel(id: Int) {
        guard let index = active.firstIndex(where: { $0.id == id }) else { return }
        idle.append(active.remove(at: index).session)
    }

    /// One token for every active sequence, then one batched decode of those that go on.
    public func step() throws -> [Event] {
        var events: [Event] = []
        var continuing: [Int] = []
        var nextTokens: [Int] = []
        for index in active.indices {
            let (token, emit) = try active[index].sequence.next(logits: active[index].session.logits, tokenizer: tokenizer)
            let sequence = active[index].sequence
            events.append(Event(id: active[index].id, emit: emit, finished: sequence.stopReason, generatedTokens: sequence.tokens.count))
            if sequence.stopReason == nil {
                continuing.append(index)
                nextTokens.append(token)
            }
        }
        if !continuing.isEmpty {
            try InferenceSession.appendBatch(continuing.map { active[$0].session }, tokens: nextTokens)
        }
        for event in events where event.finished != nil { cancel(id: event.id) }
        return events
    }
}
