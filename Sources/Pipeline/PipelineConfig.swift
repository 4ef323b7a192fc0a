import Alignment
import Foundation
import Generation
import Model
import Tasks
import Tokenizers
import Training

/// Every setting of `minigpt pipeline`: data, tokenizer, base model, pretraining, SFT, reward model, PPO and
/// the final evaluation. Each stage's defaults live in its own config; the named presets are the pipeline's
/// choices, and the single-stage commands accept them too: `full` is the recipe the shipped assistant was made
/// with, `quick` the same pipeline shrunk to run in CI in about a minute (its numbers show that it runs).
public struct PipelineConfig: Codable, Equatable, Sendable {
    public var data = ChatDataConfig()
    /// 256 bytes and the five chat markers, no merges: every digit and letter is its own token, so sums,
    /// reversal, counting and copying work on positions the model can attend to (the chat world's design).
    public var tokenizerVocabulary = 256 + ChatTemplate.specialTokens.count
    /// Without merges the pre-split pattern changes no id; kept for bases with a larger vocabulary.
    public var tokenizerPattern = PreSplitPattern.gpt2
    /// The shipped base's shape, for pretraining one from scratch.
    public var layers = 8
    public var heads = 8
    public var width = 256
    /// Room for a four-turn conversation and its reply.
    public var contextLength = 256
    public var pretraining = TrainConfig(batchSize: 32, steps: 2400, learningRate: 1e-3, warmupSteps: 100,
                                         weightDecay: 0.1, gradientClip: 1, seed: 1)
    public var sft = SFTConfig()
    public var reward = RewardConfig()
    /// Answers sampled per SFT training prompt and per PPO prompt from the SFT model (and, in later reward rounds, from
    /// the previous round's PPO policy), compared by the gold judge and added to the reward model's training pairs
    /// (`PolicyPairs`); 0 turns them off.
    public var rewardPolicySamples = 8
    /// Rounds of reward model then PPO. Every round after the first adds the judge's comparisons of the previous
    /// round's PPO answers (`rewardPolicySamples` per prompt) to the reward model's pairs and reruns PPO from SFT:
    /// the reward model learns the mistakes PPO drifted into. Needs `rewardPolicySamples` > 0 when above 1.
    public var rewardRounds = 2
    public var ppo = PPOConfig()
    /// DPO on the final reward model's training pairs (so with two rounds, also on the comparisons of round 1's PPO
    /// answers), from the SFT model: the report's fourth column.
    public var dpo = DPOConfig()
    /// Samples per held-out prompt for the best-of-N check of the reward model (`BestOfN`).
    public var bestOfN = 8
    /// Token limit of the greedy replies the gold judge scores.
    public var evaluationMaxNewTokens = ChatEvaluation.defaultMaxNewTokens
    /// Sampled replies per held-out prompt for the KL-to-SFT and sampled-gold columns.
    public var klSamplesPerPrompt = 4
    /// The diagnostic PPO run rewarded by the gold judge x this scale instead of the reward model (same
    /// PPOConfig, from the same SFT model): how far a perfect reward model could take this PPO. nil skips it.
    public var goldRewardDiagnosticScale: Double? = 4

    public init() {
        pretraining.evalEvery = 200
        pretraining.validationFraction = 0.02
        data.pretrainMegabytes = 24
        // A premise's correction is about 75 bytes.
        ppo.maxNewTokens = 96
    }

    /// The presets by name.
    public static func preset(named name: String) -> PipelineConfig? {
        switch name {
        case "full": return full
        case "quick": return quick
        default: return nil
        }
    }

    public static let presetNames = ["full", "quick"]

    public static var full: PipelineConfig { PipelineConfig() }

    public static var quick: PipelineConfig {
        var config = PipelineConfig()
        config.data.sftTrain = 300
        config.data.sftValidation = 60
        config.data.pairsTrain = 200
        config.data.pairsValidation = 60
        config.data.pairsTest = 60
        config.data.ppoPrompts = 64
        config.data.heldOutPerFamily = 4
        config.data.pretrainMegabytes = 1
        config.rewardPolicySamples = 2
        config.bestOfN = 2
        config.layers = 2
        config.heads = 2
        config.width = 64
        config.pretraining.steps = 150
        config.pretraining.batchSize = 8
        config.pretraining.evalEvery = 50
        config.pretraining.warmupSteps = 20
        config.sft.maxSteps = 300
        config.sft.evalEvery = 50
        config.sft.learningRate = 1e-3
        config.reward.maxSteps = 60
        config.reward.evalEvery = 20
        config.reward.patience = 4
        config.dpo.steps = 20
        config.dpo.evalEvery = 10
        config.ppo.iterations = 6
        config.ppo.rollouts = 16
        config.ppo.minibatchSize = 8
        config.ppo.goldEvery = 3
        config.klSamplesPerPrompt = 1
        return config
    }

    public func validate() throws {
        try ModelConfig(vocabularySize: tokenizerVocabulary, contextLength: contextLength, layers: layers, heads: heads, width: width).validate()
        try pretraining.validate()
        try sft.validate()
        try reward.validate()
        try ppo.validate()
        try dpo.validate()
        guard evaluationMaxNewTokens >= 1, klSamplesPerPrompt >= 1, bestOfN >= 1, rewardPolicySamples >= 0 else {
            throw AlignmentError.invalidArgument("evaluation token limit, KL samples and best-of-N must be at least 1")
        }
        guard rewardRounds >= 1, rewardRounds == 1 || rewardPolicySamples > 0 else {
            throw AlignmentError.invalidArgument("reward rounds must be at least 1, and more than 1 needs policy samples")
        }
        if let scale = goldRewardDiagnosticScale { _ = try LabelerReward(labeler: ChatWorld(), scale: scale) }
    }
}
