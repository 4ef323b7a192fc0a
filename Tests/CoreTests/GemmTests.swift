import Core
import TestSupport
import XCTest

final class GemmTests: XCTestCase {
    /// BLAS and the triple loop agree for every transpose combination, with padded strides, alpha and beta.
    func testBlasMatchesNaiveReference() {
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            let m = 13, n = 7, k = 9, pad = 3
            let aRows = transposeA ? k : m, aCols = transposeA ? m : k
            let bRows = transposeB ? n : k, bCols = transposeB ? k : n
            let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
            let a = randomValues(aRows * lda, seed: 1), b = randomValues(bRows * ldb, seed: 2)
            var fast = randomValues(m * ldc, seed: 3)
            var slow = fast
            fast.withUnsafeMutableBufferPointer { c in
                Gemm.blas(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda,
                          b: b, ldb: ldb, beta: 0.3, c: c.baseAddress!, ldc: ldc)
            }
            slow.withUnsafeMutableBufferPointer { c in
                Gemm.naive(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda,
                           b: b, ldb: ldb, beta: 0.3, c: c.baseAddress!, ldc: ldc)
            }
            assertClose(fast, slow, absolute: 1e-5, relative: 1e-5, "transposeA \(transposeA) transposeB \(transposeB)")
        }
    }

    /// The naive reference itself against a product worked by hand.
    func testNaiveReferenceOnHandWorkedExample() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]      // (2, 3)
        let b: [Float] = [7, 8, 9, 10, 11, 12]   // (3, 2)
        var c = [Float](repeating: 0, count: 4)
        c.withUnsafeMutableBufferPointer { out in
            Gemm.naive(transposeA: false, transposeB: false, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 2,
                       beta: 0, c: out.baseAddress!, ldc: 2)
        }
        XCTAssertEqual(c, [58, 64, 139, 154])
    }

    func testVectorExpMatchesLibm() {
        let inputs = (0..<400).map { Float($0) * 0.45 - 90 }
        var values = inputs
        values.withUnsafeMutableBufferPointer { VectorMath.map($0.baseAddress!, $0.count) { VectorMath.exp($0) } }
        for (x, y) in zip(inputs, values) where x > -87 && x < 88 {  // the documented clamp range
            let expected = Foundation.exp(Double(x))
            XCTAssertEqual(Double(y), expected, accuracy: expected * 1e-6, "exp(\(x))")
        }
    }
}
import Foundation
