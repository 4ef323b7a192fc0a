import ArgumentParser
import Benchmarking
import Core
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release). Each validates its result, warms up, then repeats.",
        subcommands: [TrainBenchCommand.self, KernelBenchCommand.self, GenerateBenchCommand.self, CompareArchCommand.self]
    )
}

struct TrainBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training tokens/s and ms/step for the S, M and L shapes on random tokens."
    )

    @Option(help: "Comma-separated shapes: S (4x128, ctx 64, batch 12), M (6x384, ctx 256, batch 8), L (M with vocab 4096).")
    var shapes = "S,M"
    @Option(help: "Comma-separated thread counts.") var threads = "1,2"
    @Option(help: "Untimed steps before timing.") var warmup = 3
    @Option(help: "Timed steps (median, min, max are reported).") var repeats = 10
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Flag(help: "Before each measurement, wait (up to 2 minutes) until other processes use under 0.15 core.")
    var waitForQuiet = false

    func validate() throws {
        guard warmup >= 0, repeats >= 5 else { throw ValidationError("--repeats must be at least 5 and --warmup not negative") }
        for name in shapes.split(separator: ",") where TrainingShape.presets[String(name)] == nil {
            throw ValidationError("unknown shape \(name); choose from S, M, L")
        }
        try validateThreadList(threads)
        try validateRepeats(repeats, warmup: warmup)
        if let json { try Preflight.writableFile(json, "--json") }
    }

    /// Under `mpirun -np N` the ranks share each batch; rank 0 prints and writes the results.
    func run() throws {
        try runAsRanks { processes in
            let say: (String) -> Void = processes.isRoot ? { Console.out($0) } : { _ in }
            let machine = MachineInfo.current()
            if processes.isRoot {
                Console.status("machine: \(machine.cpuModel), \(machine.cores) cores, OpenBLAS \(machine.blasCoreType) kernels")
            }
            var results: [TrainingBenchmarkResult] = []
            say("| shape | threads | ms/step median (min-max) | tokens/s | GFLOP/s | MFU | peak RSS MB | foreign load (cores) |\n|---|---|---|---|---|---|---|---|\n")
            for name in shapes.split(separator: ",") {
                for count in threads.split(separator: ",").compactMap({ Int($0) }) {
                    if waitForQuiet { ForeignLoad.waitForQuiet() }
                    let result = try TrainingBenchmark.run(shape: TrainingShape.presets[String(name)]!, threads: count,
                                                           warmup: warmup, repeats: repeats, processes: processes)
                    results.append(result)
                    let m = result.milliseconds
                    let workers = processes.size > 1 ? "\(processes.size) x \(count)" : "\(count)"
                    say(String(format: "| %@ | %@ | %.1f (%.1f-%.1f) | %.0f | %.1f | %.0f%% | %.0f | %.2f |\n", result.shape, workers,
                               m.median, m.minimum, m.maximum, result.tokensPerSecond, result.gflops, result.mfu * 100,
                               result.peakMemoryMB, result.foreignLoadCores))
                }
            }
            if let json, processes.isRoot {
                struct Report: Codable { var machine: MachineInfo; var training: [TrainingBenchmarkResult] }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try encoder.encode(Report(machine: machine, training: results)), to: json)
            }
        }
    }
}

struct KernelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "sgemm GFLOP/s at the model's shapes and at 1024^3 / 2048^3 against the machine's peak; layernorm, GELU, softmax GB/s; attention GFLOP/s."
    )

    @Option(help: "Comma-separated thread counts for sgemm and attention.") var threads = "1,2"
    @Option(help: "Timed repetitions per kernel (median, min, max reported).") var repeats = 10
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func validate() throws {
        guard repeats >= 5 else { throw ValidationError("--repeats must be at least 5") }
        try validateThreadList(threads)
        try validateRepeats(repeats, warmup: nil)
        if let json { try Preflight.writableFile(json, "--json") }
    }

    func run() throws {
        let machine = MachineInfo.current()
        let peak = PeakReport.current()
        Console.out(String(format: "FP32 peak per core: derived %.1f GFLOP/s (%.2f GHz x %.0f FLOP/cycle), measured %.1f; all %d cores measured %.1f\n\n",
                           peak.derivedGFLOPSPerCore, peak.clockGHz, peak.flopsPerCyclePerCore, peak.measuredGFLOPSPerCore,
                           machine.cores, peak.measuredGFLOPSAllCores))
        var results: [KernelResult] = []
        let counts = threads.split(separator: ",").compactMap { Int($0) }
        for count in counts {
            for (label, m, n, k) in KernelBenchmark.gemmShapes {
                results.append(try KernelBenchmark.gemm(label: label, m: m, n: n, k: k, threads: count, repeats: repeats))
            }
            results.append(try KernelBenchmark.attention(batch: 12, time: 64, width: 128, heads: 4, threads: count, repeats: repeats))
            results.append(try KernelBenchmark.attention(batch: 8, time: 256, width: 384, heads: 6, threads: count, repeats: repeats))
        }
        results += try KernelBenchmark.elementwise(rows: 2048, width: 1536, repeats: repeats)
        let bestGemm = results.filter { $0.kernel.hasPrefix("sgemm") }.map(\.rate).max() ?? 1
        Console.out("| kernel | shape | threads | ms median (min-max) | rate | % of measured peak | % of best sgemm | foreign load |\n|---|---|---|---|---|---|---|---|\n")
        for result in results {
            let m = result.milliseconds
            let peakShare = result.unit == "GFLOP/s" ? String(format: "%.0f%%", 100 * result.rate / (peak.measuredGFLOPSPerCore * Double(result.threads))) : "-"
            let gemmShare = result.unit == "GFLOP/s" ? String(format: "%.0f%%", 100 * result.rate / bestGemm) : "-"
            Console.out(String(format: "| %@ | %@ | %d | %.3f (%.3f-%.3f) | %.1f %@ | %@ | %@ | %.2f |\n", result.kernel, result.shape,
                               result.threads, m.median, m.minimum, m.maximum, result.rate, result.unit, peakShare, gemmShare,
                               result.foreignLoadCores))
        }
        if let json {
            struct Report: Codable { var machine: MachineInfo; var peak: PeakReport; var kernels: [KernelResult] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(Report(machine: machine, peak: peak, kernels: results)), to: json)
        }
    }
}
