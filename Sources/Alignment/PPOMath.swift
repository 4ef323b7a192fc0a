import Foundation

/// The pure pieces of PPO (InstructGPT's RL stage), written so each can be checked by hand. One response of
/// T tokens is one episode; index t is the t-th generated token.
public enum PPOMath {
    /// Per-token KL estimate log pi(a_t) - log pi_ref(a_t) (the k1 estimator the per-token penalty uses).
    /// It is exactly 0 where the policy's and the reference's log-probabilities are equal.
    public static func tokenKL(logProbs: [Double], referenceLogProbs: [Double]) -> [Double] {
        precondition(logProbs.count == referenceLogProbs.count, "one reference log-probability per token")
        return zip(logProbs, referenceLogProbs).map { $0 - $1 }
    }

    /// Per-token rewards: -beta * KL_t at every token, plus the reward model's score at the last token.
    public static func rewards(score: Double, kl: [Double], beta: Double) -> [Double] {
        var rewards = kl.map { -beta * $0 }
        if !rewards.isEmpty { rewards[rewards.count - 1] += score }
        return rewards
    }

    /// Generalised advantage estimation over one episode that ends after the last token (the value after it
    /// is 0): delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lambda A_{t+1}; returns_t = A_t + V_t.
    public static func gae(rewards: [Double], values: [Double], gamma: Double = 1.0, lambda: Double = 0.95)
        -> (advantages: [Double], returns: [Double]) {
        precondition(rewards.count == values.count, "one value per reward")
        var advantages = [Double](repeating: 0, count: rewards.count)
        var next = 0.0, nextValue = 0.0
        for t in stride(from: rewards.count - 1, through: 0, by: -1) {
            let delta = rewards[t] + gamma * nextValue - values[t]
            next = delta + gamma * lambda * next
            advantages[t] = next
            nextValue = values[t]
        }
        return (advantages, zip(advantages, values).map(+))
    }

    /// (x - mean) / std over all entries (population std, epsilon 1e-8); with `shiftMean` false the mean
    /// is added back, as some implementations do.
    public static func whiten(_ x: [Double], shiftMean: Bool = true) -> [Double] {
        guard !x.isEmpty else { return [] }
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
        let scale = 1 / (variance.squareRoot() + 1e-8)
        return x.map { ($0 - mean) * scale + (shiftMean ? 0 : mean) }
    }

    /// The clipped surrogate: mean_t max(-A_t rho_t, -A_t clip(rho_t, 1 - eps, 1 + eps)), rho_t =
    /// exp(logp_t - oldLogp_t). Returns the loss, its gradient with respect to each logp_t, and the
    /// fraction of tokens where the clipped term is the larger (its gradient is 0 there).
    public static func clippedPolicyLoss(logProbs: [Double], oldLogProbs: [Double], advantages: [Double], clip epsilon: Double)
        -> (loss: Double, gradient: [Double], clipFraction: Double) {
        let n = Double(logProbs.count)
        var loss = 0.0, clipped = 0
        var gradient = [Double](repeating: 0, count: logProbs.count)
        for t in logProbs.indices {
            let ratio = exp(logProbs[t] - oldLogProbs[t])
            let unclippedTerm = -advantages[t] * ratio
            let clippedTerm = -advantages[t] * min(max(ratio, 1 - epsilon), 1 + epsilon)
            if clippedTerm > unclippedTerm {
                loss += clippedTerm
                clipped += 1
            } else {
                loss += unclippedTerm
                gradient[t] = unclippedTerm / n  // d(-A rho)/d logp = -A rho
            }
        }
        return (loss / n, gradient, Double(clipped) / n)
    }

    /// The clipped value loss: 0.5 mean_t max((V_t - R_t)^2, (clip(V_t, Vold_t - eps, Vold_t + eps) - R_t)^2),
    /// and its gradient with respect to each V_t.
    public static func clippedValueLoss(values: [Double], oldValues: [Double], returns: [Double], clip epsilon: Double)
        -> (loss: Double, gradient: [Double]) {
        let n = Double(values.count)
        var loss = 0.0
        var gradient = [Double](repeating: 0, count: values.count)
        for t in values.indices {
            let clippedValue = min(max(values[t], oldValues[t] - epsilon), oldValues[t] + epsilon)
            let unclippedError = (values[t] - returns[t]) * (values[t] - returns[t])
            let clippedError = (clippedValue - returns[t]) * (clippedValue - returns[t])
            if clippedError > unclippedError {
                loss += 0.5 * clippedError
                // clip() is flat outside the band; inside, clippedValue == V and the two terms are equal.
            } else {
                loss += 0.5 * unclippedError
                gradient[t] = (values[t] - returns[t]) / n
            }
        }
        return (loss / n, gradient)
    }
}

/// Ziegler et al.'s adaptive KL coefficient: beta <- beta * (1 + clip(KL / target - 1, -0.2, 0.2) * n / horizon).
public struct AdaptiveKLController: Codable, Equatable, Sendable {
    public var beta: Double
    public var target: Double
    public var horizon: Double

    public init(beta: Double = 0.1, target: Double = 6, horizon: Double = 10_000) {
        self.beta = beta
        self.target = target
        self.horizon = horizon
    }

    public mutating func update(kl: Double, steps n: Int) {
        let error = min(max(kl / target - 1, -0.2), 0.2)
        beta *= 1 + error * Double(n) / horizon
    }
}
