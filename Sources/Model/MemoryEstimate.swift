import Core

/// Bytes the model's buffers will take, computed in Double from the config alone so a job can be
/// refused (`MemoryBudget.require`) before anything is allocated. The float counts mirror the buffers
/// `GPT`, `Activations` and `KVCache` allocate.
extension ModelConfig {
    private static let floatBytes = Double(MemoryLayout<Float>.stride)

    /// The parameter buffer alone.
    public var parameterBytes: Double { exactParameterCount * Self.floatBytes }

    /// One `Activations` instance for a (B, T) batch: per block 16 (B, T, C) buffers, 4 (B, T) statistics and
    /// the (B, H, T, T) attention matrix; then the embeddings, final norm, scratch, logits and probabilities.
    public func activationBytes(batch: Int, time: Int) -> Double {
        let n = Double(batch) * Double(time), c = Double(width), t = Double(time)
        let perBlock = 16 * n * c + 4 * n + Double(batch) * Double(heads) * t * t
        let floats = Double(layers) * perBlock + 6 * n * c + 3 * n + 2 * n * Double(vocabularySize)
        return floats * Self.floatBytes
    }

    /// Training with AdamW on `replicas` threads: parameters and both moments once, gradients per replica,
    /// and the batch's activations twice (forward caches and their gradients), split over the replicas.
    public func trainingBytes(batch: Int, replicas: Int) -> Double {
        (3 + Double(replicas)) * parameterBytes + 2 * activationBytes(batch: batch, time: contextLength)
    }

    /// One sequence's keys and values for every layer at full context.
    public var kvCacheBytes: Double { 2 * Double(layers) * Double(contextLength) * Double(width) * Self.floatBytes }
}
