import CBLAS
import Dispatch
import Foundation

/// The number of threads used by BLAS and by MiniGPT's own parallel loops.
///
/// Two ways to use them: inside one op (BLAS threads, and `parallelRanges` over heads), or one level up,
/// `shards`, which gives each thread a whole share of the work with single-threaded BLAS and no nested
/// splitting. The second wins on small models, where per-op synchronisation dominates (PERF-NOTES.md).
public enum ComputeThreads {
    nonisolated(unsafe) private static var current = ProcessInfo.processInfo.activeProcessorCount
    /// False while `shards` runs, so that ops inside a shard stay on their own thread.
    nonisolated(unsafe) private static var splittingInsideOps = true

    public static var count: Int { current }

    public static var available: Int { ProcessInfo.processInfo.activeProcessorCount }

    public static func set(_ threads: Int) throws {
        guard threads >= 1 else { throw CoreError.invalidArgument("--threads must be at least 1, got \(threads)") }
        current = threads
        openblas_set_num_threads(Int32(threads))
    }

    /// Runs `body(range)` over `0..<count` split into one contiguous range per thread. Falls back to a
    /// plain call when one thread is set, inside `shards`, or when the work is too small to pay for
    /// waking another core (40-300 us on this machine kind, see PERF-NOTES.md).
    public static func parallelRanges(_ count: Int, worthSplitting: Bool, _ body: (Range<Int>) -> Void) {
        let threads = min(current, count)
        guard threads > 1, worthSplitting, splittingInsideOps else {
            body(0..<count)
            return
        }
        // Each part may call BLAS: keep BLAS on the calling thread meanwhile. Two threads each calling a
        // BLAS that itself runs two threads were 15x slower than one thread (attention at T = 256).
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(current)) }
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            body((count * part / threads)..<(count * (part + 1) / threads))
        }
    }

    /// Runs `body(shard)` for shard in 0..<shards concurrently, with BLAS and `parallelRanges` single-threaded
    /// meanwhile; the first error thrown by any shard is rethrown.
    public static func shards(_ shards: Int, _ body: (Int) throws -> Void) throws {
        guard shards > 1 else { return try body(0) }
        openblas_set_num_threads(1)
        splittingInsideOps = false
        defer {
            splittingInsideOps = true
            openblas_set_num_threads(Int32(current))
        }
        let errors = ShardErrors(count: shards)
        DispatchQueue.concurrentPerform(iterations: shards) { shard in
            do { try body(shard) } catch { errors.record(error, at: shard) }
        }
        if let error = errors.first { throw error }
    }
}

/// One slot per shard, each written only by its own shard (raw storage, so concurrent writes to
/// different slots are not exclusivity conflicts on one array).
private final class ShardErrors: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Error?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func record(_ error: Error, at shard: Int) { slots[shard] = error }

    var first: Error? { (0..<count).lazy.compactMap { self.slots[$0] }.first }
}
