import Core
import Model

/// AdamW (Loshchilov & Hutter) over the flat parameter buffer, with decoupled weight decay applied
/// to 2-D weight matrices only. The moments share the parameters' layout.
public final class AdamW {
    public let m: FloatBuffer
    public let v: FloatBuffer
    /// 1 where the parameter is decayed, 0 elsewhere, in parameter layout.
    private let decayMask: FloatBuffer

    public init(layout: ParameterLayout) {
        m = FloatBuffer(count: layout.count)
        v = FloatBuffer(count: layout.count)
        decayMask = FloatBuffer(count: layout.count)
        for tensor in layout.tensors where tensor.decays {
            (decayMask.pointer + tensor.offset).update(repeating: 1, count: tensor.count)
        }
    }

    /// One update with 1-based step number `t` (for bias correction):
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * mask * p.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate lr: Float, step t: Int, config: TrainConfig) {
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon, wd = config.weightDecay
        let correction1 = 1 - pow(b1, Float(t))
        let correction2 = 1 - pow(b2, Float(t))
        let p = parameters.pointer, g = gradients.pointer, mp = m.pointer, vp = v.pointer, mask = decayMask.pointer
        ComputeThreads.parallelRanges(parameters.count, worthSplitting: parameters.count >= 1 << 20) { range in
            for i in range {
                let grad = g[i]
                let mi = b1 * mp[i] + (1 - b1) * grad
                let vi = b2 * vp[i] + (1 - b2) * grad * grad
                mp[i] = mi
                vp[i] = vi
                let mHat = mi / correction1
                let vHat = vi / correction2
                p[i] -= lr * (mHat / (vHat.squareRoot() + eps) + wd * mask[i] * p[i])
            }
        }
    }

    /// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    public static func clipGradients(_ gradients: FloatBuffer, maxNorm: Float) -> Float {
        var sum = 0.0
        let g = gradients.pointer
        var i = 0
        while i < gradients.count {
            let chunk = min(4096, gradients.count - i)
            sum += Double(VectorMath.dot(g + i, g + i, chunk))
            i += chunk
        }
        let norm = Float(sum.squareRoot())
        if maxNorm > 0, norm > maxNorm {
            let scale = maxNorm / (norm + 1e-6)
            for j in 0..<gradients.count { g[j] *= scale }
        }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#endif
