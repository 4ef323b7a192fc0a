import Core
import Foundation
import Model

/// PPO's value head: V_t = w . h_t + b on the policy's final hidden state h_t (C) at each response position.
public final class ValueHead {
    /// w (C) then b (1).
    public let parameters: FloatBuffer
    public private(set) lazy var gradients = FloatBuffer(count: parameters.count)
    public let width: Int

    public init(width: Int, parameters: FloatBuffer? = nil) throws {
        let values = parameters ?? FloatBuffer(count: width + 1)
        guard values.count == width + 1 else {
            throw AlignmentError.mismatch("a value head of width \(width) needs \(width + 1) values, got \(values.count)")
        }
        self.width = width
        self.parameters = values
    }

    /// Values at `rows` (indices into the last forward pass's B * T positions).
    public func values(model: GPT, rows: [Int]) -> [Double] {
        rows.map { row in
            let hidden = model.hiddenState(row: row)
            var v = Double(parameters[width])
            for i in 0..<width { v += Double(parameters[i] * hidden[i]) }
            return v
        }
    }

    /// Accumulates the head's gradient of sum_k dValues[k] * V(rows[k]) into `gradients`, and its gradient
    /// with respect to the hidden states into `hiddenGradient` (B * T * C) for the GPT's backward pass.
    public func backward(model: GPT, rows: [Int], dValues: [Double], hiddenGradient: inout [Float]) {
        for (row, dv) in zip(rows, dValues) {
            let hidden = model.hiddenState(row: row)
            let g = Float(dv)
            for i in 0..<width {
                gradients[i] += g * hidden[i]
                hiddenGradient[row * width + i] += g * parameters[i]
            }
            gradients[width] += g
        }
    }
}

extension PPOPolicyStep {
    /// PPO's combined objective on one batch: clipped surrogate on the response positions (`mask`) plus
    /// `valueCoefficient` x the clipped value loss of `valueHead`, backpropagated in one GPT backward pass
    /// (position weights for the policy term, a hidden-state gradient for the value term). Gradients are
    /// accumulated: zero the model's and the head's first. With `valueGradientIntoBackbone` false the value
    /// loss trains the head only (the hidden states are treated as constants for it).
    public static func lossAndBackward(model: GPT, valueHead: ValueHead, tokens: [Int32], targets: [Int32], mask: [Bool],
                                       batch: Int, time: Int, oldLogProbs: [Double], advantages: [Double],
                                       oldValues: [Double], returns: [Double], clip: Double, valueClip: Double,
                                       valueCoefficient: Double, valueGradientIntoBackbone: Bool = true) throws -> PPOMinibatchStats {
        let all = try logProbs(model: model, tokens: tokens, targets: targets, batch: batch, time: time)
        let positions = mask.indices.filter { mask[$0] }
        let policy = PPOMath.clippedPolicyLoss(logProbs: positions.map { all[$0] }, oldLogProbs: oldLogProbs,
                                               advantages: advantages, clip: clip)
        let values = valueHead.values(model: model, rows: positions)
        let value = PPOMath.clippedValueLoss(values: values, oldValues: oldValues, returns: returns, clip: valueClip)
        var weights = [Float](repeating: 0, count: batch * time)
        for (k, position) in positions.enumerated() { weights[position] = Float(-policy.gradient[k]) }
        var hiddenGradient = [Float](repeating: 0, count: batch * time * model.config.width)
        valueHead.backward(model: model, rows: positions, dValues: value.gradient.map { $0 * valueCoefficient },
                           hiddenGradient: &hiddenGradient)
        model.backward(positionWeights: weights, hiddenGradient: valueGradientIntoBackbone ? hiddenGradient : nil)
        let logRatios = zip(positions, oldLogProbs).map { all[$0.0] - $0.1 }
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
