import Foundation
import Model

/// A deliberately plain Double-precision LSTM language model written straight from the equations
/// (one sequence at a time, one step at a time, no shared code with the Float model beyond the parameter
/// layout): the independent reference for the LSTM's forward and gradient checks.
public struct ReferenceLSTM {
    public let config: ModelConfig
    public let layout: LSTMLayout

    public init(config: ModelConfig) {
        self.config = config
        layout = LSTMLayout(config: config)
    }

    /// Mean cross-entropy over the (B, T) targets.
    public func loss(parameters p: [Double], tokens: [Int32], targets: [Int32], batch b: Int, time t: Int) -> Double {
        let v = config.vocabularySize
        let logits = self.logits(parameters: p, tokens: tokens, batch: b, time: t)
        var total = 0.0
        for row in 0..<(b * t) {
            let scores = Array(logits[(row * v)..<((row + 1) * v)])
            let top = scores.max()!
            let logSum = log(scores.reduce(0) { $0 + exp($1 - top) }) + top
            total += logSum - scores[Int(targets[row])]
        }
        return total / Double(b * t)
    }

    /// Logits (B, T, V) flattened, row-major.
    public func logits(parameters p: [Double], tokens: [Int32], batch b: Int, time t: Int) -> [Double] {
        let c = config.width, v = config.vocabularySize
        var out: [Double] = []
        for bi in 0..<b {
            var h = [[Double]](repeating: [Double](repeating: 0, count: c), count: layout.layers.count)
            var cell = h
            for pos in 0..<t {
                let token = Int(tokens[bi * t + pos])
                var x = (0..<c).map { p[layout.tokenEmbedding + token * c + $0] }
                for (l, layer) in layout.layers.enumerated() {
                    let fromInput = matrixVector(p, layer.inputWeight, rows: 4 * c, x)
                    let fromHidden = matrixVector(p, layer.hiddenWeight, rows: 4 * c, h[l])
                    let a = (0..<(4 * c)).map { fromInput[$0] + fromHidden[$0] + p[layer.bias + $0] }
                    for j in 0..<c {
                        let input = sigmoid(a[j]), forget = sigmoid(a[c + j]), candidate = tanh(a[2 * c + j]), output = sigmoid(a[3 * c + j])
                        cell[l][j] = forget * cell[l][j] + input * candidate
                        h[l][j] = output * tanh(cell[l][j])
                    }
                    x = h[l]
                }
                let head = matrixVector(p, layout.headWeight, rows: v, x)
                out.append(contentsOf: (0..<v).map { head[$0] + p[layout.headBias + $0] })
            }
        }
        return out
    }

    private func matrixVector(_ p: [Double], _ offset: Int, rows: Int, _ x: [Double]) -> [Double] {
        (0..<rows).map { r in x.indices.reduce(0.0) { $0 + p[offset + r * x.count + $1] * x[$1] } }
    }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
}
