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
