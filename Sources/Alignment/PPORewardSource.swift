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
    /// `sampled[i]` is exchange i as it was sampled: the prompt's tokens, the reply's tokens and the closing
    /// `<|end|>`. The reward model reads the reply as text, encoded the way its training pairs were; but
    /// rollouts are sampled unmodified, and a chat marker inside a reply is spelled out as ordinary text there
    /// (user text cannot fake a marker), which can outgrow the context. Such an exchange is scored as sampled.
    func scores(prompts: [String], responses: [String], sampled: [[Int]], encoder: ChatEncoder, batchSize: Int) throws -> [Double] {
        switch self {
        case .goldJudge(let scale):
            return zip(prompts, responses).map { GoldJudge.score(prompt: $0, response: $1) * scale }
        case .model(let reward):
            let pad = Int32(encoder.template.endOfTextID), context = reward.backbone.config.contextLength
            var result: [Double] = []
            for start in stride(from: 0, to: prompts.count, by: batchSize) {
                let end = min(start + batchSize, prompts.count)
                let sequences = try (start..<end).map { i in
                    let text = try encoder.exchange(prompt: prompts[i], response: responses[i])
                    return (text.count <= context ? text : sampled[i]).map(Int32.init)
                }
                result += try reward.scores(sequences, pad: pad).map(Double.init)
            }
            return result
        }
    }
}
