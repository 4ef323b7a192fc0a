/// A weight matrix W (rows, columns) stored as int8 with one Float scale per row, for decoding:
/// W[r, j] ~ scale[r] * q[r, j], q in -127...127, scale[r] = max_j |W[r, j]| / 127 (symmetric, round to nearest).
/// A quarter of fp32's bytes, so the weights of a small model fit in the L3 cache, and batch-1 decoding,
/// which streams every weight once per token, is no longer bound by memory bandwidth.
///
/// Storage: q + 128 as a byte, each row in blocks of 64 columns, interleaved so that one 64-byte load gives
/// 16 lanes of 4 bytes with lane k holding columns (k, 16 + k, 32 + k, 48 + k) of the block. Byte b of every
/// lane is then one shift and one mask away, and becomes a Float without any int-to-float conversion
/// instruction: the bits 0x4B000000 | u are the float 2^23 + u, so subtracting 2^23 + 128 gives q exactly.
/// (Swift's generic SIMD int8-to-float conversions compile to calls, about 2.5x slower than this.)
public final class QuantizedMatrix: @unchecked Sendable {
    public static let block = 64
    public let rows: Int
    public let columns: Int
    let bytes: UnsafeMutableRawPointer  // (rows, columns) interleaved as above
    public let scales: FloatBuffer      // (rows)

    /// Quantizes `weights` (rows, columns), row-major. `columns` must be a multiple of 64.
    public init(weights: UnsafePointer<Float>, rows: Int, columns: Int) throws {
        guard columns % Self.block == 0, columns > 0, rows > 0 else {
            throw CoreError.invalidArgument("int8 weights need a positive number of columns that is a multiple of 64, got \(rows)x\(columns)")
        }
        self.rows = rows
        self.columns = columns
        bytes = UnsafeMutableRawPointer.allocate(byteCount: rows * columns, alignment: 64)
        scales = FloatBuffer(count: rows)
        let out = bytes.assumingMemoryBound(to: UInt8.self)
        for r in 0..<rows {
            let w = weights + r * columns
            var largest: Float = 0
            for j in 0..<columns { largest = max(largest, abs(w[j])) }
            let scale = largest > 0 ? largest / 127 : 1
            scales[r] = scale
            for j in 0..<columns {
                let q = Int((w[j] / scale).rounded()).clamped(-127, 127)
                out[r * columns + Self.storageOffset(column: j)] = UInt8(q + 128)
            }
        }
    }

    deinit { bytes.deallocate() }

    /// Where column j of a row sits in that row's bytes.
    @inline(__always) static func storageOffset(column j: Int) -> Int {
        let blockStart = j / block * block, within = j % block
        return blockStart + 4 * (within % 16) + within / 16
    }

    /// scale[r] * q[r, j]: the value the kernels multiply by.
    public func value(row r: Int, column j: Int) -> Float {
        let stored = bytes.load(fromByteOffset: r * columns + Self.storageOffset(column: j), as: UInt8.self)
        return scales[r] * Float(Int(stored) - 128)
    }

    public var byteCount: Int { rows * columns + rows * MemoryLayout<Float>.stride }

    typealias Vector = SIMD16<Float>
    typealias Lanes = SIMD16<UInt32>

    @inline(__always) static func byteLanes(_ v: Lanes, _ shift: UInt32) -> Vector {
        unsafeBitCast(((v &>> shift) & 0xFF) | 0x4B00_0000, to: Vector.self) - 8_388_736  // - (2^23 + 128)
    }

    /// y (rows) = W x (columns) + (bias ?? 0), for rows `range` only (so callers can split the rows).
    public func multiply(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         rows range: Range<Int>? = nil) {
        let xr = UnsafeRawPointer(x)
        for r in range ?? 0..<rows {
            let row = UnsafeRawPointer(bytes + r * columns)
            var a0 = Vector(), a1 = Vector(), a2 = Vector(), a3 = Vector()
            var j = 0
            while j < columns {
                let v = row.loadUnaligned(fromByteOffset: j, as: Lanes.self)
                a0.addProduct(Self.byteLanes(v, 0), xr.loadUnaligned(fromByteOffset: 4 * j, as: Vector.self))
                a1.addProduct(Self.byteLanes(v, 8), xr.loadUnaligned(fromByteOffset: 4 * (j + 16), as: Vector.self))
                a2.addProduct(Self.byteLanes(v, 16), xr.loadUnaligned(fromByteOffset: 4 * (j + 32), as: Vector.self))
                a3.addProduct(Self.byteLanes(v, 24), xr.loadUnaligned(fromByteOffset: 4 * (j + 48), as: Vector.self))
                j += Self.block
            }
            y[r] = scales[r] * ((a0 + a1) + (a2 + a3)).sum() + (bias?[r] ?? 0)
        }
    }

    /// The obviously-correct reference: the same quantized values, multiplied and summed in Double.
    public func multiplyNaive(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var sum = 0.0
            for j in 0..<columns { sum += Double(value(row: r, column: j)) * Double(x[j]) }
            y[r] = Float(sum) + (bias?[r] ?? 0)
        }
    }
}

private extension Int {
    func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
