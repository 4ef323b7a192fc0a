import Core
import TestSupport
import XCTest

final class QuantizedMatrixTests: XCTestCase {
    /// The vector kernel agrees with the Double reference on the same int8 values, for all rows and a range.
    func testKernelMatchesNaive() throws {
        let rows = 37, columns = 192
        let weights = randomValues(rows * columns, scale: 0.5, seed: 4)
        let x = randomValues(columns, seed: 5)
        let bias = randomValues(rows, seed: 6)
        let matrix = try weights.withUnsafeBufferPointer { try QuantizedMatrix(weights: $0.baseAddress!, rows: rows, columns: columns) }
        var fast = [Float](repeating: 0, count: rows), slow = fast
        matrix.multiply(x, bias: bias, into: &fast)
        matrix.multiplyNaive(x, bias: bias, into: &slow)
        assertClose(fast, slow, absolute: 1e-4, relative: 1e-5)
        var part = [Float](repeating: 7, count: rows)
        matrix.multiply(x, bias: nil, into: &part, rows: 5..<9)
        XCTAssertEqual(part[4], 7)
        XCTAssertEqual(part[9], 7)
        assertClose(Array(part[5..<9]), zip(slow[5..<9], bias[5..<9]).map { $0 - $1 }, absolute: 1e-4, relative: 1e-5)
    }

    /// Every stored value is within half a quantization step of the original; the largest of a row is exact.
    func testQuantizationErrorIsHalfAStep() throws {
        let rows = 5, columns = 64
        var weights = randomValues(rows * columns, seed: 8)
        weights[3] = 0  // a zero stays zero
        for j in 0..<columns { weights[4 * columns + j] = 0 }  // an all-zero row
        let matrix = try weights.withUnsafeBufferPointer { try QuantizedMatrix(weights: $0.baseAddress!, rows: rows, columns: columns) }
        for r in 0..<rows {
            let largest = (0..<columns).map { abs(weights[r * columns + $0]) }.max()!
            for j in 0..<columns {
                let error = abs(matrix.value(row: r, column: j) - weights[r * columns + j])
                XCTAssertLessThanOrEqual(error, largest / 127 / 2 + 1e-6, "row \(r) column \(j)")
            }
        }
        XCTAssertEqual(matrix.value(row: 0, column: 3), 0)
        XCTAssertEqual(matrix.value(row: 4, column: 10), 0)
    }

    func testRejectsColumnsThatAreNotBlocksOf64() {
        let weights = [Float](repeating: 1, count: 100)
        XCTAssertThrowsError(try weights.withUnsafeBufferPointer { try QuantizedMatrix(weights: $0.baseAddress!, rows: 1, columns: 100) })
    }
}
