#if MPI
import CMPI
#endif
import Foundation
import Training

public enum MultiProcessError: Error, CustomStringConvertible, Equatable, Sendable {
    case builtWithoutMPI(ranks: Int)
    case mpiCallFailed(call: String, code: Int32)

    public var description: String {
        switch self {
        case .builtWithoutMPI(let ranks):
            return "started as one of \(ranks) MPI ranks, but this minigpt was built without MPI "
                + "(build it with `swift build -c release --traits MPI`)"
        case .mpiCallFailed(let call, let code): return "\(call) failed with MPI error code \(code)"
        }
    }
}

/// How the process was launched: Open MPI's `mpirun` sets these variables in every rank it starts.
public enum MPILaunch {
    /// The number of ranks of the job, or nil when not started by mpirun.
    public static var worldSize: Int? { integer("OMPI_COMM_WORLD_SIZE") }
    /// Ranks of the job on this machine (they share its cores).
    public static var localSize: Int? { integer("OMPI_COMM_WORLD_LOCAL_SIZE") }

    private static func integer(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) }
    }

    /// The process group to train with: Open MPI's ranks when launched by mpirun with more than one,
    /// otherwise this process alone.
    public static func processGroup() throws -> any ProcessGroup {
        guard let ranks = worldSize, ranks > 1 else { return SingleProcess() }
        #if MPI
        return try MPIProcessGroup()
        #else
        throw MultiProcessError.builtWithoutMPI(ranks: ranks)
        #endif
    }
}

#if MPI
/// Open MPI's world communicator as a `ProcessGroup`. Only the thread that created it calls MPI
/// (MPI_THREAD_FUNNELED): the trainer's collectives run between steps, on its own thread.
public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    private var finished = false

    public init() throws {
        var provided: Int32 = 0
        try Self.check("MPI_Init_thread", MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided))
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check("MPI_Comm_rank", MPI_Comm_rank(minigpt_mpi_comm_world(), &rank))
        try Self.check("MPI_Comm_size", MPI_Comm_size(minigpt_mpi_comm_world(), &size))
        self.rank = Int(rank)
        self.size = Int(size)
    }

    public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        // MPI counts are 32-bit: a larger buffer goes in pieces.
        var offset = 0
        while offset < count {
            let piece = min(count - offset, Int(Int32.max))
            try Self.check("MPI_Allreduce", MPI_Allreduce(minigpt_mpi_in_place(), values + offset, Int32(piece),
                                                          minigpt_mpi_float(), minigpt_mpi_sum(), minigpt_mpi_comm_world()))
            offset += piece
        }
    }

    public func allEqual(_ value: UInt64) throws -> Bool {
        var low = value, high = value
        try Self.check("MPI_Allreduce", MPI_Allreduce(minigpt_mpi_in_place(), &low, 1, minigpt_mpi_uint64(),
                                                      minigpt_mpi_min(), minigpt_mpi_comm_world()))
        try Self.check("MPI_Allreduce", MPI_Allreduce(minigpt_mpi_in_place(), &high, 1, minigpt_mpi_uint64(),
                                                      minigpt_mpi_max(), minigpt_mpi_comm_world()))
        return low == high
    }

    public func any(_ flag: Bool) throws -> Bool {
        var value: Int32 = flag ? 1 : 0
        try Self.check("MPI_Allreduce", MPI_Allreduce(minigpt_mpi_in_place(), &value, 1, minigpt_mpi_int(),
                                                      minigpt_mpi_max(), minigpt_mpi_comm_world()))
        return value != 0
    }

    /// Ends MPI cleanly; every rank calls it once when the run is over.
    public func finish() {
        guard !finished else { return }
        finished = true
        MPI_Finalize()
    }

    /// Ends every rank of the job with `code`: one rank's error must not leave the others waiting in a collective.
    public func abort(code: Int32) -> Never {
        MPI_Abort(minigpt_mpi_comm_world(), code)
        exit(code)
    }

    /// For an error every rank found together (they disagree): the others wait while rank 0 reports it and
    /// aborts the job, so that the user reads it once.
    public func leaveErrorToRoot() {
        MPI_Barrier(minigpt_mpi_comm_world())
        exit(1)
    }

    private static func check(_ call: String, _ code: Int32) throws {
        guard code == MPI_SUCCESS else { throw MultiProcessError.mpiCallFailed(call: call, code: code) }
    }
}
#endif
