/// Token + learned position embedding. Shapes: tokens (B, T), wte (V, C), wpe (maxT, C), out (B, T, C).
public enum Embedding {
    public static func forward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                               wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>,
                               batch b: Int, time t: Int, width c: Int, positionOffset: Int = 0) {
        for bt in 0..<(b * t) {
            let token = wte + Int(tokens[bt]) * c
            let position = wpe + (bt % t + positionOffset) * c
            let y = out + bt * c
            for i in 0..<c { y[i] = token[i] + position[i] }
        }
    }

    /// dwte[token] += dout; dwpe[t] += dout.
    public static func backward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>,
                                batch b: Int, time t: Int, width c: Int) {
        for bt in 0..<(b * t) {
            let g = dout + bt * c
            VectorMath.add(g, into: dwte + Int(tokens[bt]) * c, c)
            VectorMath.add(g, into: dwpe + (bt % t) * c, c)
        }
    }
}
