/// GELU with the tanh approximation used by GPT-2:
/// gelu(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
public enum GELU {
    static let scale: Float = 0.797_884_56  // sqrt(2 / pi)
    static let cubic: Float = 0.044_715

    /// tanh(u) = 1 - 2 / (e^{2u} + 1), exact at both tails (e^{2u} -> inf gives 1, -> 0 gives -1).
    @inline(__always) static func tanh(_ u: VectorMath.Vector) -> VectorMath.Vector {
        1 - 2 / (VectorMath.exp(2 * u) + 1)
    }

    /// out (N) = gelu(inp (N)).
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
        out.update(from: inp, count: n)
        VectorMath.map(out, n) { x in
            let u: VectorMath.Vector = scale * (x + cubic * x * x * x)
            let half: VectorMath.Vector = 0.5 * x
            return half * (1 + tanh(u))
        }
    }

    /// dinp (N) += dout * gelu'(inp), with
    /// gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    public static func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count n: Int) {
        @inline(__always) func contribution(_ x: VectorMath.Vector, _ g: VectorMath.Vector) -> VectorMath.Vector {
            let x2 = x * x
            let t = tanh(scale * (x + cubic * x2 * x))
            let outer: VectorMath.Vector = 0.5 * (1 + t)
            let inner: VectorMath.Vector = (0.5 * scale) * x * (1 - t * t) * (1 + (3 * cubic) * x2)
            return g * (outer + inner)
        }
        var i = 0
        while i + 16 <= n {
            let sum = VectorMath.load(dinp + i) + contribution(VectorMath.load(inp + i), VectorMath.load(dout + i))
            VectorMath.store(sum, dinp + i)
            i += 16
        }
        if i < n {
            var x = VectorMath.Vector()
            var g = VectorMath.Vector()
            for j in 0..<(n - i) { x[j] = inp[i + j]; g[j] = dout[i + j] }
            let tail = contribution(x, g)
            for j in 0..<(n - i) { dinp[i + j] += tail[j] }
        }
    }
}
