/// Causal multi-head self-attention on a packed QKV buffer, with the products of every head going
/// through BLAS. Shapes: qkv (B, T, 3C) laid out [q | k | v] per position, each split into H heads of size
/// hs = C / H; att (B, H, T, T) holds the softmaxed scores (zero above the diagonal); out (B, T, C).
///
/// Query rows are processed in blocks of `blockRows`: a block of rows r0..<r1 only ever sees keys 0..<r1,
/// so the products skip the upper triangle's blocks (at T = 256 that is 37% of the work).
public enum Attention {
    static let blockRows = 64

    /// The (b, h) pairs are split over the compute threads only when there is enough work per call
    /// to pay for waking a second core.
    static func worthSplitting(batch b: Int, heads h: Int, time t: Int, headSize hs: Int) -> Bool {
        b * h * t * t * hs >= 1 << 20
    }

    /// Row blocks (r0, r1) of a T-row causal matrix.
    static func rowBlocks(_ t: Int) -> [(start: Int, end: Int)] {
        stride(from: 0, to: t, by: blockRows).map { ($0, min($0 + blockRows, t)) }
    }

    public static func forward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch b: Int, time t: Int, width c: Int, heads h: Int) {
        let hs = c / h
        let scale = 1 / Float(hs).squareRoot()
        let blocks = rowBlocks(t)
        ComputeThreads.parallelRanges(b * h, worthSplitting: worthSplitting(batch: b, heads: h, time: t, headSize: hs)) { pairs in
            for pair in pairs {
                let (batchIndex, head) = pair.quotientAndRemainder(dividingBy: h)
                let q = qkv + batchIndex * t * 3 * c + head * hs
                let k = q + c
                let v = q + 2 * c
                let scores = att + pair * t * t
                let y = out + batchIndex * t * c + head * hs
                for (r0, r1) in blocks {
                    // scores[r0..<r1, 0..<r1] = scale * q[r0..<r1] (R, hs) @ k[0..<r1]^T (hs, r1)
                    Gemm.blas(transposeA: false, transposeB: true, m: r1 - r0, n: r1, k: hs, alpha: scale,
                              a: q + r0 * 3 * c, lda: 3 * c, b: k, ldb: 3 * c, beta: 0, c: scores + r0 * t, ldc: t)
                    for row in r0..<r1 { Softmax.causalRow(scores + row * t, valid: row + 1, length: t) }
                    // y[r0..<r1] (R, hs) = att[r0..<r1, 0..<r1] (R, r1) @ v[0..<r1] (r1, hs)
                    Gemm.blas(transposeA: false, transposeB: false, m: r1 - r0, n: hs, k: r1, alpha: 1,
                              a: scores + r0 * t, lda: t, b: v, ldb: 3 * c, beta: 0, c: y + r0 * c, ldc: c)
                }
            }
        }
    }

    /// Accumulates into dqkv (B, T, 3C). `datt` (B, H, T, T) is scratch, overwritten.
    /// With P = att, dP = dout @ v^T, the softmax backward is dS = P * (dP - rowsum(P * dP)),
    /// then dq = scale * dS @ k, dk = scale * dS^T @ q, dv = P^T @ dout (each restricted to the causal blocks).
    public static func backward(dqkv: UnsafeMutablePointer<Float>, datt: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, att: UnsafePointer<Float>,
                                batch b: Int, time t: Int, width c: Int, heads h: Int) {
        let hs = c / h
        let scale = 1 / Float(hs).squareRoot()
        let blocks = rowBlocks(t)
        ComputeThreads.parallelRanges(b * h, worthSplitting: worthSplitting(batch: b, heads: h, time: t, headSize: hs)) { pairs in
            for pair in pairs {
                let (batchIndex, head) = pair.quotientAndRemainder(dividingBy: h)
                let offset = batchIndex * t * 3 * c + head * hs
                let q = qkv + offset, k = q + c, v = q + 2 * c
                let dq = dqkv + offset, dk = dq + c, dv = dq + 2 * c
                let p = att + pair * t * t
                let dp = datt + pair * t * t
                let g = dout + batchIndex * t * c + head * hs
                for (r0, r1) in blocks {
                    let rows = r1 - r0
                    let pBlock = p + r0 * t, dpBlock = dp + r0 * t
                    // dP (R, r1) = dout[r0..<r1] (R, hs) @ v[0..<r1]^T
                    Gemm.blas(transposeA: false, transposeB: true, m: rows, n: r1, k: hs, alpha: 1,
                              a: g + r0 * c, lda: c, b: v, ldb: 3 * c, beta: 0, c: dpBlock, ldc: t)
                    // dv[0..<r1] (r1, hs) += P^T (r1, R) @ dout[r0..<r1] (R, hs)
                    Gemm.blas(transposeA: true, transposeB: false, m: r1, n: hs, k: rows, alpha: 1,
                              a: pBlock, lda: t, b: g + r0 * c, ldb: c, beta: 1, c: dv, ldc: 3 * c)
                    for row in r0..<r1 {
                        let pr = p + row * t
                        let dr = dp + row * t
                        let inner = VectorMath.dot(pr, dr, row + 1)
                        for j in 0...row { dr[j] = pr[j] * (dr[j] - inner) }
                        (dr + row + 1).update(repeating: 0, count: r1 - row - 1)
                    }
                    // dq[r0..<r1] (R, hs) += scale * dS (R, r1) @ k[0..<r1];  dk[0..<r1] (r1, hs) += scale * dS^T @ q[r0..<r1]
                    Gemm.blas(transposeA: false, transposeB: false, m: rows, n: hs, k: r1, alpha: scale,
                              a: dpBlock, lda: t, b: k, ldb: 3 * c, beta: 1, c: dq + r0 * 3 * c, ldc: 3 * c)
                    Gemm.blas(transposeA: true, transposeB: false, m: r1, n: hs, k: rows, alpha: scale,
                              a: dpBlock, lda: t, b: q + r0 * 3 * c, ldb: 3 * c, beta: 1, c: dk, ldc: 3 * c)
                }
            }
        }
    }
}
