/// Numerically stable softmax of one row, in place: p_i = e^{x_i - max} / sum_j e^{x_j - max}.
public enum Softmax {
    @inline(__always) public static func inPlace(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        let maximum = VectorMath.max(x, n)
        VectorMath.map(x, n) { VectorMath.exp($0 - maximum) }
        let total = VectorMath.sum(x, n)
        let inverse = 1 / total
        for i in 0..<n { x[i] *= inverse }
    }

    /// Softmax over the first `valid` entries of a row of `length`, zeros after them (one causal
    /// attention row). Works in whole 16-wide vectors: the entries between `valid` and the next multiple
    /// of 16 are first set to -inf so they drop out of the max, and are zeroed after the exponential.
    @inline(__always) public static func causalRow(_ x: UnsafeMutablePointer<Float>, valid: Int, length: Int) {
        let padded = min(length, (valid + 15) & ~15)
        (x + valid).update(repeating: -.infinity, count: padded - valid)
        let maximum = VectorMath.max(x, padded)
        VectorMath.map(x, padded) { VectorMath.exp($0 - maximum) }
        (x + valid).update(repeating: 0, count: length - valid)
        let inverse = 1 / VectorMath.sum(x, valid)
        for i in 0..<valid { x[i] *= inverse }
    }
}
