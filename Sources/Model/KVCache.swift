import Core

/// The keys and values one sequence has produced so far, per layer, so that each new token only computes
/// its own row instead of re-running the whole sequence.
///
/// Layout: for each layer, keys (T, C) and values (T, C) with T = the model's context length; row t holds
/// the key (value) of position t for all heads, head h at columns h*hs ..< (h+1)*hs, exactly the k (v)
/// third of that position's QKV row. Rows `0..<count` are valid.
public final class KVCache {
    public let layers: Int
    public let width: Int
    /// Positions the cache can hold: the model's context length (GPT-2 has learned absolute positions,
    /// so a sequence can never be longer than this).
    public let capacity: Int
    /// Positions filled so far; the next token goes to position `count`.
    public internal(set) var count = 0
    let keys: [FloatBuffer]    // per layer (capacity, C)
    let values: [FloatBuffer]  // per layer (capacity, C)

    public init(config: ModelConfig) {
        layers = config.layers
        width = config.width
        capacity = config.contextLength
        keys = (0..<config.layers).map { _ in FloatBuffer(count: config.contextLength * config.width) }
        values = (0..<config.layers).map { _ in FloatBuffer(count: config.contextLength * config.width) }
    }

    /// Positions still free.
    public var remaining: Int { capacity - count }

    /// Forgets every position (the buffers are reused, not cleared: rows at or past `count` are never read).
    public func removeAll() { count = 0 }

    /// Bytes held by the keys and values.
    public var byteCount: Int { 2 * layers * capacity * width * MemoryLayout<Float>.stride }
}
