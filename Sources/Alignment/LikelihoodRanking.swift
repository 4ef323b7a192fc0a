import Model

/// A reward model with no training: a model's own log-likelihood of a reply, r(x, y) = log pi(y <|end|> | x),
/// summed over the reply's tokens. A diagnostic beside the trained reward model: it shows which rankings the
/// backbone already knows as next-token predictions. It prefers short, familiar replies, so it is no reward for PPO.
public enum LikelihoodRanking {
    public static func metrics(model: GPT, encoder: ChatEncoder, pairs: [PreferencePair], batchSize: Int = 32) throws -> PairwiseMetrics {
        guard !pairs.isEmpty else { throw AlignmentError.emptyDataset("the pairs to rank by likelihood") }
        let encoded = try DPOTrainer.encode(pairs, encoder: encoder, contextLength: model.config.contextLength)
        let pad = Int32(encoder.template.endOfTextID)
        var chosen: [Double] = [], rejected: [Double] = []
        for start in stride(from: 0, to: encoded.count, by: batchSize) {
            let sums = try DPOTrainer.sequenceLogProbs(model, Array(encoded[start..<min(start + batchSize, encoded.count)]), pad: pad)
            chosen += sums.chosen
            rejected += sums.rejected
        }
        return PairwiseMetrics(chosen: chosen, rejected: rejected, families: pairs.map(\.family), failures: pairs.map(\.failure))
    }
}
