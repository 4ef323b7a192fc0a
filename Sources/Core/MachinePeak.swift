import Dispatch
import Foundation

/// Measures this machine's FP32 fused-multiply-add ceiling: per thread, 12 independent SIMD16 FMA
/// chains (enough to cover FMA latency) run for a fixed count; each FMA lane is 2 FLOPs.
/// This is the peak that MFU figures are quoted against, so they refer to the machine they ran on.
public enum MachinePeak {
    /// FLOP/s of `threads` threads running FMAs flat out, best of three runs of `iterations` loop trips
    /// each (10M is ~20 ms on this machine kind; runs must stay well above the 40-300 us it takes to wake
    /// the other threads, or the multi-thread figure comes out low).
    public static func measureFLOPS(threads: Int, iterations: Int = 10_000_000) -> Double {
        var best = 0.0
        for _ in 0..<3 {
            let clock = ContinuousClock()
            let start = clock.now
            DispatchQueue.concurrentPerform(iterations: max(1, threads)) { _ in
                blackHole(fmaChains(iterations))
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let flops = Double(max(1, threads)) * Double(iterations) * 12 * 16 * 2
            best = max(best, flops / seconds)
        }
        return best
    }

    @inline(never)
    static func fmaChains(_ iterations: Int) -> Float {
        typealias V = SIMD16<Float>
        let a = V(repeating: 0.999_999), b = V(repeating: 1e-7)
        var c0 = V(repeating: 1), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0
        var c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0
        for _ in 0..<iterations {
            c0 = c0 * a + b; c1 = c1 * a + b; c2 = c2 * a + b; c3 = c3 * a + b
            c4 = c4 * a + b; c5 = c5 * a + b; c6 = c6 * a + b; c7 = c7 * a + b
            c8 = c8 * a + b; c9 = c9 * a + b; c10 = c10 * a + b; c11 = c11 * a + b
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).sum()
    }

    @inline(never)
    static func blackHole(_ value: Float) {
        if value == .infinity { print("") }
    }
}
