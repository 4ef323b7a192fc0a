import Core

/// One sequence being decoded: its `KVCache`, the tokens the cache holds, and what happens when the context
/// is full.
///
/// Context-full policy: GPT-2's positions are learned and absolute, so cached keys cannot be shifted to
/// make room. When appending would pass the context length, the session keeps the last `keepOnOverflow`
/// tokens (at least all of the new ones), clears the cache and prefills that window again in one pass;
/// generation then continues from the shorter window. The default keeps half the context, so a rebuild
/// (one prefill of half the context) happens once every `contextLength / 2` tokens and every token still
/// sees at least half a context of history. `keepOnOverflow = contextLength` gives the exact sliding window
/// (every token sees the full context) at the price of a full prefill per token.
public final class InferenceSession {
    public let engine: InferenceEngine
    public let cache: KVCache
    /// The tokens whose keys and values are in the cache, oldest first (after a rebuild, the kept window).
    public private(set) var tokens: [Int] = []
    /// How many of the most recent tokens survive when the context overflows (1...contextLength).
    public let keepOnOverflow: Int
    /// How many times the cache was rebuilt because the context was full.
    public private(set) var rebuildCount = 0
    private let logitsBuffer: FloatBuffer  // (V) logits after the last appended token
    private var hasLogits = false

    public init(engine: InferenceEngine, keepOnOverflow: Int? = nil) throws {
        let capacity = engine.config.contextLength
        let keep = keepOnOverflow ?? max(1, capacity / 2)
        guard keep >= 1, keep <= capacity else {
            throw ModelError.badInput("tokens kept when the context is full must be in 1...\(capacity), got \(keep)")
        }
        try MemoryBudget.require(engine.config.kvCacheBytes, for: "the KV cache of one sequence")
        self.engine = engine
        self.keepOnOverflow = keep
        cache = engine.makeCache()
        logitsBuffer = FloatBuffer(count: engine.config.vocabularySize)
    }

    public convenience init(model: GPT, keepOnOverflow: Int? = nil) throws {
        try self.init(engine: InferenceEngine(model: model), keepOnOverflow: keepOnOverflow)
    }

    public var contextLength: Int { cache.capacity }

    /// Logits (V) predicting the token after the last appended one. Precondition: something was appended.
    public var logits: UnsafeBufferPointer<Float> {
        precondition(hasLogits, "no logits yet: append tokens first")
        return UnsafeBufferPointer(start: logitsBuffer.pointer, count: logitsBuffer.count)
    }

    /// Empties the session (the cache's memory is kept).
    public func reset() {
        cache.removeAll()
        tokens.removeAll(keepingCapacity: true)
        hasLogits = false
    }

    /// Runs `newTokens` (a prompt in one prefill pass, or one generated token) and returns the next-token
    /// logits. Throws when `newTokens` is empty, longer than the context, or holds an id outside the
    /// vocabulary; rebuilds the cache per the context-full policy when they do not fit after the current tokens.
    @discardableResult
    public func append(_ newTokens: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard !newTokens.isEmpty else { throw ModelError.badInput("nothing to append: no tokens") }
        guard newTokens.count <= contextLength else {
            throw ModelError.badInput("\(newTokens.count) tokens are longer than the model's context of \(contextLength)")
        }
        if newTokens.count <= cache.remaining {
            let result = try engine.extend(cache, with: newTokens)
            tokens.append(contentsOf: newTokens)
            store(result)
        } else {
            let window = Array((tokens + newTokens).suffix(max(keepOnOverflow, newTokens.count)))
            cache.removeAll()
            let result = try engine.extend(cache, with: window)
            tokens = window
            rebuildCount += 1
            store(result)
        }
        return logits
    }

    /// Appends one token to each session, decoding all sessions that have room in one batched step (bit for
    /// bit what each would compute alone); a full session is rebuilt on its own first. Sessions must share
    /// one engine and be distinct. Afterwards each session's `logits` predict its next token.
    public static func appendBatch(_ sessions: [InferenceSession], tokens: [Int]) throws {
        guard sessions.count == tokens.count else {
            throw ModelError.badInput("appendBatch needs one token per session, got \(tokens.count) for \(sessions.count)")
        }
        guard let engine = sessions.first?.engine else { return }
        guard sessions.allSatisfy({ $0.engine === engine }) else {
            throw ModelError.badInput("sessions decoded in one batch must share one engine")
        }
        var batch: [Int] = []
        for (index, session) in sessions.enumerated() {
            if session.cache.remaining >= 1 { batch.append(index) } else { try session.append([tokens[index]]) }
        }
        guard !batch.isEmpty else { return }
        let rows = try engine.step(batch.map { sessions[$0].cache }, tokens: batch.map { tokens[$0] })
        for (row, index) in batch.enumerated() {
            sessions[index].tokens.append(tokens[index])
            sessions[index].store(rows[row])
        }
    }

    private func store(_ values: UnsafeBufferPointer<Float>) {
        logitsBuffer.pointer.update(from: values.baseAddress!, count: values.count)
        hasLogits = true
    }
}
