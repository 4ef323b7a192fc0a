/// A fully connected layer, weights stored like PyTorch's `nn.Linear`: out = inp @ weight^T + bias.
/// Shapes: inp (N, C), weight (OC, C), bias (OC), out (N, OC).
public enum Linear {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows n: Int, inputs c: Int, outputs oc: Int) {
        if let bias {
            for row in 0..<n { (out + row * oc).update(from: bias, count: oc) }
        }
        Gemm.blas(transposeA: false, transposeB: true, m: n, n: oc, k: c, alpha: 1,
                  a: inp, lda: c, b: weight, ldb: c, beta: bias == nil ? 0 : 1, c: out, ldc: oc)
    }

    /// Accumulates: dinp (N, C) += dout @ weight; dweight (OC, C) += dout^T @ inp; dbias (OC) += column sums of dout.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows n: Int, inputs c: Int, outputs oc: Int) {
        Gemm.blas(transposeA: false, transposeB: false, m: n, n: c, k: oc, alpha: 1,
                  a: dout, lda: oc, b: weight, ldb: c, beta: 1, c: dinp, ldc: c)
        Gemm.blas(transposeA: true, transposeB: false, m: oc, n: c, k: n, alpha: 1,
                  a: dout, lda: oc, b: inp, ldb: c, beta: 1, c: dweight, ldc: c)
        if let dbias {
            for row in 0..<n { VectorMath.add(dout + row * oc, into: dbias, oc) }
        }
    }
}
