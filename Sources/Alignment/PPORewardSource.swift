/// What PPO scores its rollouts with. `model` is InstructGPT's PPO, the default and the only source the
/// pipeline ships or compares as "PPO". `goldJudge` is a diagnostic: the scripted judge, which stands in for
/// the labelers, used directly as the reward. It shows how far this PPO could move the policy with a perfect
/// reward model (an upper bound for any learned one); a policy trained on it has seen the judge.
public enum PPORewardSource {
    case model(RewardModel)
    /// `GoldJudge.score` x `scale` (4 spans about the reward model's range of scores).
    case goldJudge(scale: Double)

    func validate() throws {
        if case .goldJudge(let scale) = self, !(scale.isFinite && scale > 0) {
            throw AlignmentError.invalidArgument("the gold judge's reward scale must be positive, not \(scale)")
        }
    }

    /// Scores of (prompt, response text) exchanges; the reward model reads them `batchSize` at a time.
    func scores(prompts: [String], responses: [String], encoder: ChatEncoder, batchSize: Int) throws -> [Double] {
        switch self {
        case .goldJudge(let scale):
            return zip(prompts, responses).map { GoldJudge.score(prompt: $0, response: $1) * scale }
        case .model(let reward):
            let pad = Int32(encoder.template.endOfTextID)
            var result: [Double] = []
            for start in stride(from: 0, to: prompts.count, by: batchSize) {
                let end = min(start + batchSize, prompts.count)
                let sequences = try (start..<end).map { try encoder.exchange(prompt: prompts[$0], response: responses[$0]).map(Int32.init) }
                result += try reward.scores(sequences, pad: pad).map(Double.init)
            }
            return result
        }
    }
}
