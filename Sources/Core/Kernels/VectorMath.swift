/// Small vectorised helpers shared by the kernels. Reductions use explicit SIMD16 accumulators
/// because the compiler may not reorder float additions on its own.
public enum VectorMath {
    public typealias Vector = SIMD16<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always) static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    @inline(__always) public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i + 16 <= n { acc += load(x + i); i += 16 }
        var total = acc.sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }

    @inline(__always) public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i + 16 <= n { acc.addProduct(load(x + i), load(y + i)); i += 16 }
        var total = acc.sum()
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    @inline(__always) public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var best = -Float.infinity
        var i = 0
        if n >= 16 {
            var acc = Vector(repeating: -.infinity)
            while i + 16 <= n { acc = pointwiseMax(acc, load(x + i)); i += 16 }
            best = acc.max()
        }
        while i < n { best = Swift.max(best, x[i]); i += 1 }
        return best
    }

    /// y[i] += x[i]
    @inline(__always) public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += x[i] }
    }

    /// e^x for a vector, Cephes-style: x = k ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial,
    /// 2^k by building the float's exponent bits. Relative error ~2e-7; inputs are clamped to [-87, 88].
    /// Rounding to k uses the 1.5 * 2^23 trick (adding it leaves round(x) in the low mantissa bits), which
    /// stays in vector registers where Swift's generic SIMD float-to-int conversion does not.
    @inline(__always) public static func exp(_ x: Vector) -> Vector {
        let magic: Float = 12_582_912  // 1.5 * 2^23
        let clamped = pointwiseMax(pointwiseMin(x, Vector(repeating: 88)), Vector(repeating: -87))
        let shifted = clamped * 1.442_695_04 + magic
        let k = shifted - magic  // round(x / ln2), as a float
        let r = clamped - k * 0.693_359_375 + k * 2.121_944_4e-4   // ln2 split into an exact high part and a low part
        var p = Vector(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 0.166_666_655
        p = p * r + 0.500_000_01
        let y = p * (r * r) + r + 1
        let kBits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(Vector(repeating: magic), to: SIMD16<Int32>.self)
        return y * unsafeBitCast((kBits &+ 127) &<< 23, to: Vector.self)
    }

    /// Applies `transform` to n floats in place, 16 at a time; the tail goes through a padded vector.
    @inline(__always) public static func map(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ transform: (Vector) -> Vector) {
        var i = 0
        while i + 16 <= n { store(transform(load(x + i)), x + i); i += 16 }
        if i < n {
            var tail = Vector()
            for j in 0..<(n - i) { tail[j] = x[i + j] }
            let result = transform(tail)
            for j in 0..<(n - i) { x[i + j] = result[j] }
        }
    }
}
