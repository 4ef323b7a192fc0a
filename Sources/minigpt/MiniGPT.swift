import ArgumentParser
import Core
import Foundation

@main
struct MiniGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minigpt",
        abstract: "Train, run and align small GPT models on the CPU.",
        subcommands: [
            TrainCommand.self,
            DataCommand.self,
            SFTCommand.self,
            RewardCommand.self,
            PPOCommand.self,
            PipelineCommand.self,
            JudgeCommand.self,
            GenerateCommand.self,
            ChatCommand.self,
            EvalCommand.self,
            TokenizerCommand.self,
            EstimateCommand.self,
            BenchCommand.self,
            ServeCommand.self,
            ExportCommand.self,
            ImportCommand.self,
        ]
    )

    /// Runs the command; a failure prints one line, `Error: <what went wrong>`, without the usage block
    /// swift-argument-parser adds by default, and exits non-zero. `--help` and `--version` print as usual.
    static func main() {
        restartWithBetterBLASKernels()
        StandardStreams.reserveClosedDescriptors()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            // A command that already printed its own error (e.g. chat after a failed turn) only sets the status.
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            StandardStreams.writeError("Error: \(message)\n")
            Foundation.exit(code.rawValue)
        }
    }

    /// OpenBLAS chooses its kernels once, when it loads; if it fell back to generic ones on a CPU it did not
    /// recognise, the process starts again with `OPENBLAS_CORETYPE` naming the right family (the variable is
    /// then set, so this happens at most once). If the restart fails, the run goes on with the slow kernels.
    static func restartWithBetterBLASKernels() {
        let environment = ProcessInfo.processInfo.environment
        guard let core = BLASInfo.betterCoreType(picked: BLASInfo.coreType, cpuFlags: BLASInfo.cpuFlags(),
                                                 environment: environment) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
    }
}
