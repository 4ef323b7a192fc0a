import Foundation
import Model

/// A deliberately plain Double-precision GPT-2 forward pass written straight from the architecture
/// (no shared code with the Float model beyond the parameter layout), used as the independent
/// reference for the gradient check and the forward check.
struct ReferenceGPT {
    let config: ModelConfig
    let layout: ParameterLayout

    init(config: ModelConfig) {
        self.config = config
        layout = ParameterLayout(config: config)
    }

    /// Mean cross-entropy over the (B, T) targets.
    func loss(parameters p: [Double], tokens: [Int32], targets: [Int32], batch b: Int, time t: Int) -> Double {
        let weights = [Double](repeating: 1 / Double(b * t), count: b * t)
        return objective(parameters: p, tokens: tokens, targets: targets, weights: weights, hiddenGradient: nil, batch: b, time: t)
    }

    /// sum_i weights[i] * crossEntropy_i + sum_i hiddenGradient[i] . hidden_i, where hidden_i is row i's
    /// final LayerNorm output (C) and hiddenGradient is (B * T, C) flattened.
    func objective(parameters p: [Double], tokens: [Int32], targets: [Int32], weights: [Double], hiddenGradient: [Double]?,
                   batch b: Int, time t: Int) -> Double {
        let c = config.width, v = config.vocabularySize
        let hidden = hiddenStates(parameters: p, tokens: tokens, batch: b, time: t)
        var total = 0.0
        for row in 0..<(b * t) {
            let logits = linear(hidden[row], p, layout.tokenEmbedding, nil, outputs: v)
            total -= weights[row] * log(softmax(logits)[Int(targets[row])])
            if let hiddenGradient {
                for d in 0..<c { total += hiddenGradient[row * c + d] * hidden[row][d] }
            }
        }
        return total
    }

    /// Final LayerNorm outputs, one row of C per (b, t).
    func hiddenStates(parameters p: [Double], tokens: [Int32], batch b: Int, time t: Int) -> [[Double]] {
        let c = config.width, h = config.heads, hs = c / h
        var rows: [[Double]] = []
        for bi in 0..<b {
            // x: T rows of C
            var x: [[Double]] = (0..<t).map { pos in
                let token = Int(tokens[bi * t + pos])
                return (0..<c).map { p[layout.tokenEmbedding + token * c + $0] + p[layout.positionEmbedding + pos * c + $0] }
            }
            for block in layout.blocks {
                let a = x.map { layerNorm($0, p, block.ln1Weight, block.ln1Bias) }
                let qkv = a.map { linear($0, p, block.qkvWeight, block.qkvBias, outputs: 3 * c) }
                var heads = [[Double]](repeating: [Double](repeating: 0, count: c), count: t)
                for head in 0..<h {
                    for i in 0..<t {
                        let scores = (0...i).map { j in
                            (0..<hs).reduce(0.0) { $0 + qkv[i][head * hs + $1] * qkv[j][c + head * hs + $1] } / Double(hs).squareRoot()
                        }
                        let weights = softmax(scores)
                        for d in 0..<hs {
                            heads[i][head * hs + d] = (0...i).reduce(0.0) { $0 + weights[$1] * qkv[$1][2 * c + head * hs + d] }
                        }
                    }
                }
                for i in 0..<t {
                    let projected = linear(heads[i], p, block.projWeight, block.projBias, outputs: c)
                    for d in 0..<c { x[i][d] += projected[d] }
                    let normed = layerNorm(x[i], p, block.ln2Weight, block.ln2Bias)
                    let hidden = linear(normed, p, block.fcWeight, block.fcBias, outputs: 4 * c).map(gelu)
                    let out = linear(hidden, p, block.fcProjWeight, block.fcProjBias, outputs: c)
                    for d in 0..<c { x[i][d] += out[d] }
                }
            }
            for i in 0..<t { rows.append(layerNorm(x[i], p, layout.finalNormWeight, layout.finalNormBias)) }
        }
        return rows
    }

    private func linear(_ x: [Double], _ p: [Double], _ weight: Int, _ bias: Int?, outputs: Int) -> [Double] {
        (0..<outputs).map { o -> Double in
            var sum: Double = bias.map { p[$0 + o] } ?? 0
            for i in x.indices { sum += p[weight + o * x.count + i] * x[i] }
            return sum
        }
    }

    private func layerNorm(_ x: [Double], _ p: [Double], _ weight: Int, _ bias: Int) -> [Double] {
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        return x.indices.map { (x[$0] - mean) / (variance + 1e-5).squareRoot() * p[weight + $0] + p[bias + $0] }
    }

    private func softmax(_ x: [Double]) -> [Double] {
        let top = x.max()!
        let e = x.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    private func gelu(_ x: Double) -> Double {
        0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }
}
