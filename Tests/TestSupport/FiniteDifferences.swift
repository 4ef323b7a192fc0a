import Core

/// Central finite differences of a Double function: g_i = (f(x + h e_i) - f(x - h e_i)) / 2h.
public func finiteDifferenceGradient(of x: [Double], step h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
    var point = x
    return x.indices.map { i in
        point[i] = x[i] + h
        let up = f(point)
        point[i] = x[i] - h
        let down = f(point)
        point[i] = x[i]
        return (up - down) / (2 * h)
    }
}

/// Deterministic test data: n normal values with the given scale.
public func randomValues(_ n: Int, scale: Float = 1, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<n).map { _ in scale * generator.nextNormal() }
}
