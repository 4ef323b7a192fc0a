import Core
import Model

/// AdamW's own settings: the moments' decay rates, epsilon and the decoupled weight decay.
public struct AdamWSettings: Codable, Equatable, Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0

    public init(beta1: Float = 0.9, beta2: Float = 0.99, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// AdamW (Loshchilov & Hutter) over one flat parameter buffer, with decoupled weight decay applied where its
/// decay mask is 1 (a GPT's 2-D weight matrices; nothing of a small head). The moments share the parameters' layout.
public final class AdamW {
    public let settings: AdamWSettings
    public let m: FloatBuffer
    public let v: FloatBuffer
    /// 1 where the parameter is decayed, 0 elsewhere, in parameter layout.
    private let decayMask: FloatBuffer

    /// An optimizer for a GPT's parameters: weight decay on the tensors the layout marks as decaying.
    public convenience init(layout: ParameterLayout, settings: AdamWSettings) {
        self.init(tensors: layout.tensors, count: layout.count, settings: settings)
    }

    /// An optimizer for any architecture's parameters.
    public convenience init(model: any LanguageModel, settings: AdamWSettings) {
        self.init(tensors: model.parameterTensors, count: model.parameterCount, settings: settings)
    }

    /// `tensors` tile a buffer of `count` parameters; the ones marked as decaying get weight decay.
    public init(tensors: [ParameterLayout.Tensor], count: Int, settings: AdamWSettings) {
        self.settings = settings
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
        decayMask = FloatBuffer(count: count)
        for tensor in tensors where tensor.decays {
            (decayMask.pointer + tensor.offset).update(repeating: 1, count: tensor.count)
        }
    }

    /// An optimizer for `count` parameters that are never decayed (a scalar head's weights and bias).
    public init(undecayedCount count: Int, settings: AdamWSettings) {
        self.settings = settings
        m = FloatBuffer(count: count)
        v = FloatBuffer(count: count)
        decayMask = FloatBuffer(count: count)
    }

    /// One update with 1-based step number `t` (for bias correction):
    /// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * mask * p.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate lr: Float, step t: Int) {
        let b1 = settings.beta1, b2 = settings.beta2, eps = settings.epsilon, wd = settings.weightDecay
        let correction1 = 1 - pow(b1, Float(t))
        let correction2 = 1 - pow(b2, Float(t))
        let p = parameters.pointer, g = gradients.pointer, mp = m.pointer, vp = v.pointer, mask = decayMask.pointer
        ComputeThreads.parallelRanges(parameters.count, worthSplitting: parameters.count >= 1 << 20) { range in
            AdamW.updateRange(range, p: p, g: g, m: mp, v: vp, mask: mask, lr: lr, b1: b1, b2: b2, eps: eps, wd: wd,
                              correction1: correction1, correction2: correction2)
        }
    }

    /// The update of one range, 16 parameters at a time (explicit vectors: the compiler cannot prove the
    /// five buffers do not alias, so it would not vectorise the scalar loop), the tail one by one.
    @inline(__always)
    static func updateRange(_ range: Range<Int>, p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>,
                            lr: Float, b1: Float, b2: Float, eps: Float, wd: Float, correction1: Float, correction2: Float) {
        typealias V = SIMD16<Float>
        func load(_ x: UnsafePointer<Float>) -> V { UnsafeRawPointer(x).loadUnaligned(as: V.self) }
        func store(_ value: V, _ x: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(x).storeBytes(of: value, as: V.self) }
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let grad = load(g + i)
            let mi = b1 * load(m + i) + (1 - b1) * grad
            let vi = b2 * load(v + i) + (1 - b2) * grad * grad
            store(mi, m + i)
            store(vi, v + i)
            let step = (mi / correction1) / ((vi / correction2).squareRoot() + eps)
            let params = load(p + i)
            store(params - lr * (step + wd * load(mask + i) * params), p + i)
            i += 16
        }
        while i < range.upperBound {
            let grad = g[i]
            m[i] = b1 * m[i] + (1 - b1) * grad
            v[i] = b2 * v[i] + (1 - b2) * grad * grad
            p[i] -= lr * ((m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps) + wd * mask[i] * p[i])
            i += 1
        }
    }

    /// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    public static func clipGradients(_ gradients: FloatBuffer, maxNorm: Float) -> Float {
        clipGradients([gradients], maxNorm: maxNorm)
    }

    /// Scales every buffer by one factor so the L2 norm of all of them together is at most `maxNorm` (a model
    /// and its heads clipped as one vector); returns that norm before clipping.
    @discardableResult
    public static func clipGradients(_ buffers: [FloatBuffer], maxNorm: Float) -> Float {
        var sum = 0.0
        for gradients in buffers {
            let g = gradients.pointer
            var i = 0
            while i < gradients.count {
                let chunk = min(4096, gradients.count - i)
                sum += Double(VectorMath.dot(g + i, g + i, chunk))
                i += chunk
            }
        }
        let norm = Float(sum.squareRoot())
        // A non-finite norm is left for the caller to report; scaling would smear the NaN over every gradient.
        if maxNorm > 0, norm.isFinite, norm > maxNorm {
            let scale = maxNorm / (norm + 1e-6)
            for gradients in buffers {
                let g = gradients.pointer
                for j in 0..<gradients.count { g[j] *= scale }
            }
        }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#endif
