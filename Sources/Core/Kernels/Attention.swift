/// Causal multi-head self-attention on a packed QKV buffer, with the two products of every head
/// going through BLAS. Shapes: qkv (B, T, 3C) laid out [q | k | v] per position, each split into H heads
/// of size hs = C / H; att (B, H, T, T) holds the softmaxed scores (zero above the diagonal); out (B, T, C).
public enum Attention {
    /// The (b, h) pairs are split over the compute threads only when there is enough work per call
    /// to pay for waking a second core.
    static func worthSplitting(batch b: Int, heads h: Int, time t: Int, headSize hs: Int) -> Bool {
        b * h * t * t * hs >= 1 << 20
    }

    public static func forward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch b: Int, time t: Int, width c: Int, heads h: Int) {
        let hs = c / h
        let scale = 1 / Float(hs).squareRoot()
        ComputeThreads.parallelRanges(b * h, worthSplitting: worthSplitting(batch: b, heads: h, time: t, headSize: hs)) { pairs in
            for pair in pairs {
                let (batchIndex, head) = pair.quotientAndRemainder(dividingBy: h)
                let q = qkv + batchIndex * t * 3 * c + head * hs
                let k = q + c
                let v = q + 2 * c
                let scores = att + pair * t * t
                // scores (T, T) = scale * q (T, hs) @ k^T (hs, T)
                Gemm.blas(transposeA: false, transposeB: true, m: t, n: t, k: hs, alpha: scale,
                          a: q, lda: 3 * c, b: k, ldb: 3 * c, beta: 0, c: scores, ldc: t)
                for row in 0..<t { Softmax.causalRow(scores + row * t, valid: row + 1, length: t) }
                // out (T, hs) = att (T, T) @ v (T, hs)
                Gemm.blas(transposeA: false, transposeB: false, m: t, n: hs, k: t, alpha: 1,
                          a: scores, lda: t, b: v, ldb: 3 * c, beta: 0, c: out + batchIndex * t * c + head * hs, ldc: c)
            }
        }
    }

    /// Accumulates into dqkv (B, T, 3C). `datt` (B, H, T, T) is scratch, overwritten.
    /// With P = att, dP = dout @ v^T, the softmax backward is dS = P * (dP - rowsum(P * dP)),
    /// then dq = scale * dS @ k, dk = scale * dS^T @ q, dv = P^T @ dout.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, att: UnsafePointer<Float>,
                                batch b: Int, time t: Int, width c: Int, heads h: Int) {
        let hs = c / h
        let scale = 1 / Float(hs).squareRoot()
        ComputeThreads.parallelRanges(b * h, worthSplitting: worthSplitting(batch: b, heads: h, time: t, headSize: hs)) { pairs in
            for pair in pairs {
                let (batchIndex, head) = pair.quotientAndRemainder(dividingBy: h)
                let offset = batchIndex * t * 3 * c + head * hs
                let q = qkv + offset, k = q + c, v = q + 2 * c
                let dq = dqkv + offset, dk = dq + c, dv = dq + 2 * c
                let p = att + pair * t * t
                let dp = datt + pair * t * t
                let g = dout + batchIndex * t * c + head * hs
                // dP (T, T) = dout (T, hs) @ v^T
                Gemm.blas(transposeA: false, transposeB: true, m: t, n: t, k: hs, alpha: 1,
                          a: g, lda: c, b: v, ldb: 3 * c, beta: 0, c: dp, ldc: t)
                // dv (T, hs) += P^T (T, T) @ dout (T, hs)
                Gemm.blas(transposeA: true, transposeB: false, m: t, n: hs, k: t, alpha: 1,
                          a: p, lda: t, b: g, ldb: c, beta: 1, c: dv, ldc: 3 * c)
                for row in 0..<t {
                    let pr = p + row * t
                    let dr = dp + row * t
                    let inner = VectorMath.dot(pr, dr, row + 1)
                    for j in 0...row { dr[j] = pr[j] * (dr[j] - inner) }
                    (dr + row + 1).update(repeating: 0, count: t - row - 1)
                }
                // dq (T, hs) += scale * dS (T, T) @ k (T, hs);  dk (T, hs) += scale * dS^T @ q
                Gemm.blas(transposeA: false, transposeB: false, m: t, n: hs, k: t, alpha: scale,
                          a: dp, lda: t, b: k, ldb: 3 * c, beta: 1, c: dq, ldc: 3 * c)
                Gemm.blas(transposeA: true, transposeB: false, m: t, n: hs, k: t, alpha: scale,
                          a: dp, lda: t, b: q, ldb: 3 * c, beta: 1, c: dk, ldc: 3 * c)
            }
        }
    }
}
