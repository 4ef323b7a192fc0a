import ArgumentParser
import Benchmarking
import Core
import Foundation
import Model

struct GenerateBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Inference speed, llama-bench style: prefill tokens/s, decode tokens/s and time to first token.",
        discussion: """
        Random weights at shape L (width 384, 6 layers, 6 heads, vocab 4096: llama2.c's stories15M) and \
        M (the same with vocab 65: the Hugging Face peer). Batch 1, greedy. Each row: median and (best-worst) \
        over the timed runs, and the cores other processes used meanwhile.
        """
    )

    @Option(help: "Comma-separated shapes: L, M.") var shapes = "L,M"
    @Option(help: "Comma-separated thread counts.") var threads = "1,2"
    @Option(help: "Comma-separated decode weight precisions: float32, int8.") var weights = "float32,int8"
    @Option(help: "Prompt tokens (prefill).") var promptTokens = 256
    @Option(help: "New tokens decoded one at a time.") var newTokens = 128
    @Option(help: "Untimed runs before timing.") var warmup = 1
    @Option(help: "Timed runs.") var repeats = 5
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Flag(help: "Before each measurement, wait (up to 2 minutes) until other processes use under 0.15 core.")
    var waitForQuiet = false

    func validate() throws {
        guard warmup >= 0, repeats >= 1 else { throw ValidationError("--repeats must be at least 1 and --warmup not negative") }
        guard promptTokens >= 1, newTokens >= 1 else { throw ValidationError("--prompt-tokens and --new-tokens must be at least 1") }
        for name in shapes.split(separator: ",") {
            guard let shape = GenerationShape.presets[String(name)] else { throw ValidationError("unknown shape \(name); choose from L, M") }
            let context = shape.model.contextLength
            guard promptTokens <= context - newTokens else {
                throw ValidationError("--prompt-tokens \(promptTokens) + --new-tokens \(newTokens) exceed shape \(name)'s context of \(context)")
            }
        }
        for name in weights.split(separator: ",") where DecodeWeights(rawValue: String(name)) == nil {
            throw ValidationError("unknown --weights \(name); choose from float32, int8")
        }
        try validateThreadList(threads)
        try validateRepeats(repeats, warmup: warmup)
        if let json { try Preflight.writableFile(json, "--json") }
    }

    func run() throws {
        let machine = MachineInfo.current()
        Console.status("machine: \(machine.cpuModel), \(machine.cores) cores, OpenBLAS \(machine.blasCoreType) kernels")
        var results: [GenerationBenchmarkResult] = []
        Console.out("| shape | weights | threads | prefill tok/s (\(promptTokens) tokens) | TTFT ms | decode tok/s (\(newTokens) tokens) | peak RSS MB | foreign load (cores) |\n|---|---|---|---|---|---|---|---|\n")
        for name in shapes.split(separator: ",") {
            for precision in weights.split(separator: ",").compactMap({ DecodeWeights(rawValue: String($0)) }) {
            for count in threads.split(separator: ",").compactMap({ Int($0) }) {
                if waitForQuiet { ForeignLoad.waitForQuiet() }
                let r = try GenerationBenchmark.run(shape: GenerationShape.presets[String(name)]!, threads: count,
                                                    promptTokens: promptTokens, newTokens: newTokens, weights: precision, warmup: warmup, repeats: repeats)
                results.append(r)
                let ttft = r.timeToFirstTokenMilliseconds
                Console.out(String(format: "| %@ | %@ | %d | %.0f (%.0f-%.0f) | %.1f (%.1f-%.1f) | %.0f (%.0f-%.0f) | %.0f | %.2f |\n",
                                   r.shape, r.weights.rawValue, count, r.prefillTokensPerSecond, r.prefillTokensPerSecondRange[0], r.prefillTokensPerSecondRange[1],
                                   ttft.median, ttft.minimum, ttft.maximum,
                                   r.decodeTokensPerSecond, r.decodeTokensPerSecondRange[0], r.decodeTokensPerSecondRange[1],
                                   r.peakMemoryMB, r.foreignLoadCores))
            }
            }
        }
        if let json {
            struct Report: Codable { var machine: MachineInfo; var generation: [GenerationBenchmarkResult] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(Report(machine: machine, generation: results)), to: json)
        }
    }
}
