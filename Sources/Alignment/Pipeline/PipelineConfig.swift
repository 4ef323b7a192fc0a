import Foundation
import Model
import Tokenizers
import Training

/// Every setting of `minigpt pipeline`: data, tokenizer, base model, pretraining, SFT, reward model, PPO and
/// the final evaluation. `full` is the recipe the shipped assistant was made with; `quick` is the same
/// pipeline shrunk to run in CI in well under a minute (its numbers show that it runs, not what it reaches).
public struct PipelineConfig: Codable, Equatable, Sendable {
    public var data = InstructDataConfig()
    public var tokenizerVocabulary = 512
    public var tokenizerPattern = PreSplitPattern.gpt4
    public var layers = 4
    public var heads = 4
    public var width = 128
    public var contextLength = 64
    public var pretraining = TrainConfig(batchSize: 16, steps: 800, learningRate: 1e-3, warmupSteps: 50,
                                         weightDecay: 0.1, gradientClip: 1, seed: 1337)
    public var sft = SFTConfig()
    public var reward = RewardConfig()
    public var ppo = PPOConfig()
    /// Token limit of the greedy replies the gold judge scores.
    public var evaluationMaxNewTokens = 24
    /// Sampled replies per held-out prompt for the KL-to-SFT column.
    public var klSamplesPerPrompt = 4

    public init() {
        pretraining.evalEvery = 200
    }

    public static var full: PipelineConfig { PipelineConfig() }

    public static var quick: PipelineConfig {
        var config = PipelineConfig()
        config.data.sftTrain = 300
        config.data.sftValidation = 60
        config.data.pairsTrain = 200
        config.data.pairsValidation = 60
        config.data.ppoPrompts = 64
        config.data.heldOutPerFamily = 4
        config.data.pretrainRepeats = 2
        config.tokenizerVocabulary = 384
        config.layers = 2
        config.heads = 2
        config.width = 64
        config.pretraining.steps = 150
        config.pretraining.evalEvery = 50
        config.sft.maxSteps = 150
        config.sft.evalEvery = 50
        config.reward.maxSteps = 60
        config.reward.evalEvery = 20
        config.ppo.iterations = 6
        config.ppo.rollouts = 16
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
        guard evaluationMaxNewTokens >= 1, klSamplesPerPrompt >= 1 else {
            throw AlignmentError.invalidArgument("evaluation token limit and KL samples must be at least 1")
        }
    }
}
