/// Numerically stable softmax of one row, in place: p_i = e^{x_i - max} / sum_j e^{x_j - max}.
public enum Softmax {
    @inline(__always) public static func inPlace(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        let maximum = VectorMath.max(x, n)
        VectorMath.map(x, n) { VectorMath.exp($0 - maximum) }
        let total = VectorMath.sum(x, n)
        let inverse = 1 / total
        for i in 0..<n { x[i] *= inverse }
    }
}
