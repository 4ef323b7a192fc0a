import Foundation

/// Softmax + cross-entropy over the vocabulary, fused. Shapes: logits/probs (N, V), targets (N), losses (N).
public enum CrossEntropy {
    /// probs = softmax(logits); losses[n] = -log probs[n, targets[n]].
    public static func forward(losses: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, rows n: Int, vocabulary v: Int) {
        for row in 0..<n {
            let p = probs + row * v
            p.update(from: logits + row * v, count: v)
            Softmax.inPlace(p, count: v)
            losses[row] = -Foundation.log(max(p[Int(targets[row])], Float.leastNormalMagnitude))
        }
    }

    /// dlogits[n, i] += dlosses[n] * (probs[n, i] - [i == target n]).
    public static func backward(dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, dlosses: UnsafePointer<Float>, rows n: Int, vocabulary v: Int) {
        for row in 0..<n {
            let g = dlosses[row]
            guard g != 0 else { continue }
            let p = probs + row * v
            let d = dlogits + row * v
            for i in 0..<v { d[i] += g * p[i] }
            d[Int(targets[row])] -= g
        }
    }
}
