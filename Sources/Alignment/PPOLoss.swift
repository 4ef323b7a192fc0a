import Foundation
import Model

/// PPO's combined objective on one minibatch, through the GPT's weighted backward: the cross-entropy at a
/// response position is -log pi(a_t), so the surrogate's gradient d L / d logp_t = g_t becomes a position weight
/// of -g_t, and the value loss enters as a gradient on the final hidden states.
public enum PPOLoss {
    /// Clipped surrogate on the response positions of `batch` plus `valueCoefficient` x the clipped value loss
    /// of `valueHead`, backpropagated in one GPT backward pass. Gradients are accumulated: zero the model's and
    /// the head's first. With `valueGradientIntoBackbone` false the value loss trains the head only (the hidden
    /// states are constants for it). Per-token arrays follow `batch.flatPositions`.
    public static func lossAndBackward(model: GPT, valueHead: ValueHead, batch: ResponseBatch, oldLogProbs: [Double], advantages: [Double],
                                oldValues: [Double], returns: [Double], clip: Double, valueClip: Double,
                                valueCoefficient: Double, valueGradientIntoBackbone: Bool) throws -> PPOMinibatchStats {
        let positions = batch.flatPositions
        let evaluation = try batch.evaluate(model, valueHead: valueHead)
        let logProbs = evaluation.logProbs.flatMap { $0 }
        let policy = PPOMath.clippedPolicyLoss(logProbs: logProbs, oldLogProbs: oldLogProbs, advantages: advantages, clip: clip)
        let values = evaluation.values.flatMap { $0 }
        let value = PPOMath.clippedValueLoss(values: values, oldValues: oldValues, returns: returns, clip: valueClip)
        let rows = batch.padded.batch * batch.padded.time
        var weights = [Float](repeating: 0, count: rows)  // (B * T)
        for (k, position) in positions.enumerated() { weights[position] = Float(-policy.gradient[k]) }
        var hiddenGradient = [Float](repeating: 0, count: rows * model.config.width)  // (B, T, C)
        valueHead.backward(model: model, rows: positions, dValues: value.gradient.map { $0 * valueCoefficient },
                           hiddenGradient: &hiddenGradient)
        model.backward(positionWeights: weights, hiddenGradient: valueGradientIntoBackbone ? hiddenGradient : nil)
        let logRatios = zip(logProbs, oldLogProbs).map { $0 - $1 }
        let approxKL = 0.5 * logRatios.map { $0 * $0 }.reduce(0, +) / Double(max(logRatios.count, 1))
        return PPOMinibatchStats(policyLoss: policy.loss, valueLoss: value.loss, clipFraction: policy.clipFraction, approxKL: approxKL)
    }
}

/// What one PPO minibatch update measured.
public struct PPOMinibatchStats: Equatable, Sendable {
    public var policyLoss: Double
    public var valueLoss: Double
    public var clipFraction: Double
    /// 0.5 mean (log pi - log pi_old)^2 before the update.
    public var approxKL: Double
}
