import Foundation
import Model

/// Best-of-N against a reward model: how much of the labeler's score the reward model could buy by choosing
/// among the policy's own samples. If its pick is no better than a random sample, PPO against it has nothing
/// true to climb.
public enum BestOfN {
    public struct Result: Codable, Sendable {
        /// Mean labeler score of the sample the reward model ranks first.
        public var rewardPick: Double
        /// Mean labeler score of a sample (the first of each prompt's N).
        public var random: Double
        /// Mean labeler score of the best sample: the ceiling of any reranker.
        public var oracle: Double
        /// [RM pick, random, best] per family.
        public var byFamily: [String: [Double]]
        public var n: Int

        enum CodingKeys: String, CodingKey {
            case random, oracle, n
            case rewardPick = "reward_pick"
            case byFamily = "by_family"
        }
    }

    public static func evaluate(model: GPT, reward: RewardModel, labeler: any Labeler, encoder: ChatEncoder, prompts: [PromptRecord],
                                n: Int, maxNewTokens: Int, seed: UInt64) throws -> Result {
        guard n >= 1 else { throw AlignmentError.invalidArgument("best-of-N needs N of at least 1") }
        let pad = Int32(encoder.template.endOfTextID)
        let samples = try Replies.sampled(model: model, encoder: encoder, prompts: prompts.map(\.chatPrompt), n: n,
                                          maxNewTokens: maxNewTokens, seed: seed)
        var totals = [0.0, 0.0, 0.0]
        var byFamily: [String: (sums: [Double], count: Int)] = [:]
        for (record, texts) in zip(prompts, samples) {
            let scores = try reward.scores(try texts.map { try encoder.exchange(prompt: record.chatPrompt, response: $0).map(Int32.init) }, pad: pad)
            let gold = texts.map { labeler.score(prompt: record.chatPrompt, response: $0) }
            let pick = scores.indices.max { scores[$0] < scores[$1] }!
            let row = [gold[pick], gold[0], gold.max()!]
            for i in 0..<3 { totals[i] += row[i] }
            let key = record.family
            byFamily[key, default: ([0, 0, 0], 0)].count += 1
            for i in 0..<3 { byFamily[key]!.sums[i] += row[i] }
        }
        let count = Double(prompts.count)
        return Result(rewardPick: totals[0] / count, random: totals[1] / count, oracle: totals[2] / count,
                      byFamily: byFamily.mapValues { entry in entry.sums.map { $0 / Double(entry.count) } }, n: n)
    }
}
