import Core
import TestSupport
import XCTest

final class GemvTests: XCTestCase {
    /// The BLAS matrix-vector product agrees with the Double reference, both orientations, with a row stride.
    func testBlasMatchesNaive() {
        for (m, n, lda) in [(1, 1, 1), (7, 5, 9), (384, 96, 384), (33, 200, 210)] {
            let a = randomValues(m * lda, seed: 1)
            for transpose in [false, true] {
                let inputs = transpose ? m : n, outputs = transpose ? n : m
                let x = randomValues(inputs, seed: 2)
                let start = randomValues(outputs, seed: 3)
                var fast = start, slow = start
                a.withUnsafeBufferPointer { a in
                    x.withUnsafeBufferPointer { x in
                        Gemv.blas(transpose: transpose, rows: m, columns: n, alpha: 0.5, a: a.baseAddress!, lda: lda,
                                  x: x.baseAddress!, beta: 0.25, y: &fast)
                        Gemv.naive(transpose: transpose, rows: m, columns: n, alpha: 0.5, a: a.baseAddress!, lda: lda,
                                   x: x.baseAddress!, beta: 0.25, y: &slow)
                    }
                }
                assertClose(fast, slow, absolute: 1e-4, relative: 1e-5, "\(m)x\(n) transpose \(transpose)")
            }
        }
    }
}
