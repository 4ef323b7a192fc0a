import CBLAS

/// Row-major matrix-vector multiply, the shape of batch-1 decoding: y (m) = alpha * A (m, n) @ x (n) + beta * y,
/// or with `transpose` y (n) = alpha * A^T @ x (m) + beta * y. `lda` is A's row stride in elements.
public enum Gemv {
    /// The fast path: OpenBLAS `cblas_sgemv` (threaded by OpenBLAS itself for large enough matrices).
    @inline(__always)
    public static func blas(transpose: Bool = false, rows m: Int, columns n: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, beta: Float,
                            y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, 1, beta, y, 1)
    }

    /// The obviously-correct reference (accumulates in Double).
    public static func naive(transpose: Bool = false, rows m: Int, columns n: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, beta: Float,
                             y: UnsafeMutablePointer<Float>) {
        let outputs = transpose ? n : m, inputs = transpose ? m : n
        for i in 0..<outputs {
            var sum = 0.0
            for p in 0..<inputs {
                let value = transpose ? a[p * lda + i] : a[i * lda + p]
                sum += Double(value) * Double(x[p])
            }
            y[i] = alpha * Float(sum) + (beta == 0 ? 0 : beta * y[i])
        }
    }
}
