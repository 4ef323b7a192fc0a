import ArgumentParser
import Foundation
import MultiProcess
import Training

/// Runs `body` as this process's part of an MPI job when `mpirun` started it as one of several ranks,
/// otherwise alone. An error on any rank ends the whole job (no rank is left waiting in a collective).
func runAsRanks(_ body: (any ProcessGroup) throws -> Void) throws {
    let processes = try MPILaunch.processGroup()
    #if MPI
    if let mpi = processes as? MPIProcessGroup {
        do {
            try body(mpi)
        } catch let code as ExitCode {
            mpi.finish()
            throw code
        } catch {
            if case TrainingError.processesDisagree = error, !mpi.isRoot { mpi.leaveErrorToRoot() }
            Console.status("Error (rank \(mpi.rank) of \(mpi.size)): \(MiniGPT.message(for: error))")
            mpi.abort(code: 1)
        }
        mpi.finish()
        return
    }
    #endif
    try body(processes)
}
