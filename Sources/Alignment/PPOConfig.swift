import Foundation

/// Settings of PPO against a reward function; the defaults are the pipeline's.
public struct PPOConfig: Codable, Equatable, Sendable {
    /// Rounds of (rollouts, then updates).
    public var iterations = 50
    /// Prompts drawn per iteration, one sampled response each (temperature 1).
    public var rollouts = 128
    /// Passes over the iteration's rollouts.
    public var epochs = 4
    /// Rollouts per gradient step: many replies per step keep the updates from random-walking what the policy has right.
    public var minibatchSize = 32
    /// Policy (backbone) learning rate, constant.
    public var learningRate: Float = 1e-5
    /// The value head starts at zero; it learns faster than the backbone.
    public var valueHeadLearningRate: Float = 1e-3
    /// Policy ratio clip epsilon.
    public var clip = 0.2
    /// Value clip: a new value may move at most this far from the rollout's value before its error stops counting.
    public var valueClip = 0.2
    /// Weight of the value loss.
    public var valueCoefficient = 0.1
    /// Whether the value loss also trains the policy's backbone (one shared network, as in TRL). Off: early
    /// value errors are large, and their gradients would move the policy more than the policy loss does.
    public var valueThroughBackbone = false
    public var gamma = 1.0
    public var lambda = 0.95
    /// Starting per-token KL coefficient beta.
    public var initialKLCoefficient = 0.2
    /// Target of the mean per-response KL to the reference (nats); the adaptive controller steers beta to it.
    /// Replies are a few tokens long, so this is a tight leash that keeps PPO from exploiting the reward model.
    public var klTarget = 0.5
    /// Horizon (in rollouts) of the adaptive KL controller; smaller reacts faster.
    public var klHorizon = 200.0
    /// Longest response sampled.
    public var maxNewTokens = 16
    public var gradientClip: Float = 1.0
    /// Run the held-out evaluation every N iterations (and before the first and after the last).
    public var goldEvery = 10
    public var seed: UInt64 = 1337

    public init() {}

    public func validate() throws {
        for (name, value) in [("iterations", iterations), ("rollouts", rollouts), ("epochs", epochs),
                              ("minibatch size", minibatchSize), ("max new tokens", maxNewTokens), ("evaluation interval", goldEvery)]
        where value < 1 {
            throw AlignmentError.invalidArgument("PPO \(name) must be at least 1, got \(value)")
        }
        guard minibatchSize <= rollouts else {
            throw AlignmentError.invalidArgument("PPO minibatch size \(minibatchSize) is larger than the \(rollouts) rollouts per iteration")
        }
        guard learningRate > 0, learningRate.isFinite, valueHeadLearningRate > 0, valueHeadLearningRate.isFinite else {
            throw AlignmentError.invalidArgument("PPO learning rates must be positive, got \(learningRate) and \(valueHeadLearningRate)")
        }
        for (name, value) in [("clip", clip), ("value clip", valueClip), ("KL target", klTarget), ("KL horizon", klHorizon)]
        where !(value > 0 && value.isFinite) {
            throw AlignmentError.invalidArgument("PPO \(name) must be positive, got \(value)")
        }
        for (name, value) in [("gamma", gamma), ("lambda", lambda)] where !(0...1).contains(value) {
            throw AlignmentError.invalidArgument("PPO \(name) must be in [0, 1], got \(value)")
        }
        guard initialKLCoefficient >= 0, valueCoefficient >= 0 else {
            throw AlignmentError.invalidArgument("PPO coefficients must not be negative, got \(initialKLCoefficient) and \(valueCoefficient)")
        }
    }
}

/// One line of `ppo_metrics.jsonl`.
public struct PPOIterationLog: Codable, Equatable, Sendable {
    public var iteration: Int
    /// Mean reward-model score of the iteration's rollouts.
    public var rewardScore: Double
    /// Mean over rollouts of sum_t (log pi - log pi_ref): the KL to the reference per response, in nats.
    public var kl: Double
    /// The KL coefficient beta used for this iteration's rewards.
    public var klCoefficient: Double
    /// Mean per-token entropy of the policy at the rollouts' positions (nats).
    public var entropy: Double
    /// Mean of 0.5 (log pi_new - log pi_old)^2 over the updates: how far the epochs moved the policy.
    public var approxKL: Double
    public var clipFraction: Double
    public var policyLoss: Double
    public var valueLoss: Double
    /// Mean response length in tokens (the closing `<|end|>` included).
    public var responseLength: Double
    /// Held-out score (the run's evaluator, e.g. a gold judge), on the iterations where it was measured.
    public var gold: Double?
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case iteration, kl, entropy, gold, seconds
        case rewardScore = "rm_score"
        case klCoefficient = "kl_coef"
        case approxKL = "approx_kl"
        case clipFraction = "clip_fraction"
        case policyLoss = "policy_loss"
        case valueLoss = "value_loss"
        case responseLength = "response_length"
    }
}
