import Foundation

/// The processes that train one model together by data parallelism: each computes gradients on its own rows
/// of the global batch, `sum` adds them up across processes, and every process applies the same update.
/// One process alone is `SingleProcess`; Open MPI's ranks are `MPIProcessGroup` (module MultiProcess).
public protocol ProcessGroup: AnyObject {
    /// This process's index, 0..<size; process 0 alone writes files and prints progress.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `values[0..<count]` with their elementwise sum over every process.
    func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws
    /// Whether every process passed the same value (used to compare fingerprints at start).
    func allEqual(_ value: UInt64) throws -> Bool
    /// Whether any process passed true (so that all stop at the same step when one is signalled).
    func any(_ flag: Bool) throws -> Bool
}

extension ProcessGroup {
    public var isRoot: Bool { rank == 0 }

    /// This process's rows of a global batch of `rows`: contiguous, in rank order, so that the rows of all
    /// processes together are the global batch whatever the number of processes.
    public func share(of rows: Int) -> Range<Int> {
        (rows * rank / size)..<(rows * (rank + 1) / size)
    }

    public func sum(_ value: Float) throws -> Float {
        var value = value
        try sum(&value, count: 1)
        return value
    }
}

/// Training in one process: every collective is the identity.
public final class SingleProcess: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func allEqual(_ value: UInt64) throws -> Bool { true }
    public func any(_ flag: Bool) throws -> Bool { flag }
}
