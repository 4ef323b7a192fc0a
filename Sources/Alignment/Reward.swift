import Foundation
import Model

/// Whoever ranks replies in place of human labelers: a score per (prompt, reply), higher is better. A task
/// world's gold judge is one; the algorithms only ever call `score`.
public protocol Labeler: Sendable {
    func score(prompt: ChatPrompt, response: String) -> Double
}

/// One finished exchange as PPO sampled it.
public struct SampledExchange: Sendable {
    public var prompt: ChatPrompt
    /// The reply as the user would see it.
    public var response: String
    /// Prompt tokens, the sampled reply tokens and the closing `<|end|>`: what a reward model reads.
    public var tokens: [Int]

    public init(prompt: ChatPrompt, response: String, tokens: [Int]) {
        self.prompt = prompt
        self.response = response
        self.tokens = tokens
    }
}

/// What PPO maximises: one score per sampled exchange.
public protocol RewardFunction {
    func scores(_ exchanges: [SampledExchange]) throws -> [Double]
    /// Throws when this reward cannot read the exchanges of a policy of `config`.
    func check(policy config: ModelConfig) throws
}

/// A labeler used directly as PPO's reward, times `scale` (a diagnostic: how far PPO gets with a perfect
/// reward model; a policy trained on it has seen the labeler).
public struct LabelerReward: RewardFunction {
    public let labeler: any Labeler
    public let scale: Double

    public init(labeler: any Labeler, scale: Double) throws {
        guard scale.isFinite, scale > 0 else { throw AlignmentError.invalidArgument("a labeler's reward scale must be positive, got \(scale)") }
        self.labeler = labeler
        self.scale = scale
    }

    public func scores(_ exchanges: [SampledExchange]) throws -> [Double] {
        exchanges.map { labeler.score(prompt: $0.prompt, response: $0.response) * scale }
    }
}

/// -log sigmoid(x) = log(1 + e^-x), without overflow: the pairwise loss of a reward model and of DPO.
func negativeLogSigmoid(_ x: Double) -> Double { x > 0 ? log1p(exp(-x)) : -x + log1p(exp(x)) }

func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

extension RewardFunction {
    /// A reward that reads text has nothing to check.
    public func check(policy config: ModelConfig) throws {}
}

/// A reward model reads the sampled tokens themselves (prompt, reply, closing `<|end|>`), as TRL does, so
/// what it scores is exactly what the policy produced.
extension RewardModel: RewardFunction {
    public func scores(_ exchanges: [SampledExchange]) throws -> [Double] {
        // Padding follows each sequence's last token, which causal attention keeps it from reading: any id will do.
        try scores(exchanges.map(\.tokens), pad: 0, batchSize: 32)
    }

    public func check(policy config: ModelConfig) throws {
        let own = backbone.config
        guard own.vocabularySize == config.vocabularySize else {
            throw AlignmentError.mismatch("the reward model's vocabulary (\(own.vocabularySize)) does not match the policy's (\(config.vocabularySize))")
        }
        guard own.contextLength >= config.contextLength else {
            throw AlignmentError.mismatch("the reward model's context (\(own.contextLength)) is shorter than the policy's (\(config.contextLength))")
        }
    }
}
