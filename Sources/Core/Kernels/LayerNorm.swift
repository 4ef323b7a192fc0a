/// Layer normalisation over the last axis (eps 1e-5, biased variance, as in PyTorch).
/// Shapes: inp/out (N, C), weight/bias (C), mean/rstd (N) cached for the backward pass.
public enum LayerNorm {
    public static let epsilon: Float = 1e-5

    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows n: Int, width c: Int) {
        for row in 0..<n {
            let x = inp + row * c
            let y = out + row * c
            let m = VectorMath.sum(x, c) / Float(c)
            var variance: Float = 0
            for i in 0..<c { let d = x[i] - m; variance += d * d }
            let s = 1 / (variance / Float(c) + epsilon).squareRoot()
            for i in 0..<c { y[i] = (x[i] - m) * s * weight[i] + bias[i] }
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
        for row in 0..<n {
            let x = inp + row * c
            let g = dout + row * c
            let dx = dinp + row * c
            let m = mean[row]
            let s = rstd[row]
            var meanDnorm: Float = 0
            var meanDnormNorm: Float = 0
            for i in 0..<c {
                let norm = (x[i] - m) * s
                let dnorm = g[i] * weight[i]
                meanDnorm += dnorm
                meanDnormNorm += dnorm * norm
            }
            meanDnorm /= Float(c)
            meanDnormNorm /= Float(c)
            for i in 0..<c {
                let norm = (x[i] - m) * s
                let dnorm = g[i] * weight[i]
                dbias[i] += g[i]
                dweight[i] += g[i] * norm
                dx[i] += s * (dnorm - meanDnorm - norm * meanDnormNorm)
            }
        }
    }
}
