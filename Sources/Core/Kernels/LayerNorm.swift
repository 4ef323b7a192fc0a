/// Layer normalisation over the last axis (eps 1e-5, biased variance, as in PyTorch).
/// Shapes: inp/out (N, C), weight/bias (C), mean/rstd (N) cached for the backward pass.
public enum LayerNorm {
    public static let epsilon: Float = 1e-5
    typealias Vector = VectorMath.Vector

    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows n: Int, width c: Int) {
        let vectorEnd = c & ~15
        for row in 0..<n {
            let x = inp + row * c
            let y = out + row * c
            let m = VectorMath.sum(x, c) / Float(c)
            // sum of squared deviations, 16 lanes at a time
            var squares = Vector()
            var i = 0
            while i < vectorEnd { let d = VectorMath.load(x + i) - m; squares.addProduct(d, d); i += 16 }
            var variance = squares.sum()
            while i < c { let d = x[i] - m; variance += d * d; i += 1 }
            let s = 1 / (variance / Float(c) + epsilon).squareRoot()
            for j in 0..<c { y[j] = (x[j] - m) * s * weight[j] + bias[j] }
            mean[row] = m
            rstd[row] = s
        }
    }

    /// With norm = (x - mean) * rstd and dnorm = dout * weight:
    /// dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)); dweight += dout * norm; dbias += dout.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows n: Int, width c: Int) {
        let vectorEnd = c & ~15
        for row in 0..<n {
            let x = inp + row * c
            let g = dout + row * c
            let dx = dinp + row * c
            let m = mean[row]
            let s = rstd[row]
            var dnormSum = Vector(), dnormNormSum = Vector()
            var i = 0
            while i < vectorEnd {
                let norm = (VectorMath.load(x + i) - m) * s
                let dnorm = VectorMath.load(g + i) * VectorMath.load(weight + i)
                dnormSum += dnorm
                dnormNormSum.addProduct(dnorm, norm)
                i += 16
            }
            var meanDnorm = dnormSum.sum()
            var meanDnormNorm = dnormNormSum.sum()
            while i < c {
                let norm = (x[i] - m) * s
                let dnorm = g[i] * weight[i]
                meanDnorm += dnorm
                meanDnormNorm += dnorm * norm
                i += 1
            }
            meanDnorm /= Float(c)
            meanDnormNorm /= Float(c)
            for j in 0..<c {
                let norm = (x[j] - m) * s
                let dnorm = g[j] * weight[j]
                dbias[j] += g[j]
                dweight[j] += g[j] * norm
                dx[j] += s * (dnorm - meanDnorm - norm * meanDnormNorm)
            }
        }
    }
}
