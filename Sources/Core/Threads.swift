import CBLAS
import Dispatch
import Foundation

/// The number of threads used by BLAS and by MiniGPT's own parallel loops.
public enum ComputeThreads {
    nonisolated(unsafe) private static var current = ProcessInfo.processInfo.activeProcessorCount

    public static var count: Int { current }

    public static var available: Int { ProcessInfo.processInfo.activeProcessorCount }

    public static func set(_ threads: Int) throws {
        guard threads >= 1 else { throw CoreError.invalidArgument("--threads must be at least 1, got \(threads)") }
        current = threads
        openblas_set_num_threads(Int32(threads))
    }

    /// Runs `body(range)` over `0..<count` split into one contiguous range per thread. Falls back to a
    /// plain call when one thread is set or the work is too small to pay for waking another core
    /// (40-300 us on this machine kind, see PERF-NOTES.md).
    public static func parallelRanges(_ count: Int, worthSplitting: Bool, _ body: (Range<Int>) -> Void) {
        let threads = min(current, count)
        guard threads > 1, worthSplitting else {
            body(0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let start = count * part / threads
            let end = count * (part + 1) / threads
            body(start..<end)
        }
    }
}
