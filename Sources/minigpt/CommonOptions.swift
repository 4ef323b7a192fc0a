import ArgumentParser
import Core
import Foundation
import Generation
import Model

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for BLAS and MiniGPT's own loops (default: the number of cores).")
    var threads: Int = ComputeThreads.available

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// More threads than cores only adds contention (and a huge count stalls thread start-up): capped, with a note.
    func apply() throws {
        let cores = ComputeThreads.available
        if threads > cores { Console.status("note: --threads \(threads) is more than the \(cores) cores; using \(cores)") }
        try ComputeThreads.set(min(threads, cores))
    }

    /// Like `apply`, but the default divides the cores among `localProcesses` processes on this machine
    /// (MPI ranks), so that they do not oversubscribe it; an explicit --threads is kept (capped).
    func apply(sharingCoresWith localProcesses: Int) throws {
        let cores = ComputeThreads.available
        let isDefault = threads == cores
        try ComputeThreads.set(isDefault ? max(1, cores / max(1, localProcesses)) : min(threads, cores))
    }
}

/// --max-new-tokens of generate and chat: at least 1, at most `StopCondition.maxTokens`.
func validateMaxNewTokens(_ value: Int) throws {
    guard value >= 1, value <= StopCondition.maxTokens else {
        throw ValidationError("--max-new-tokens must be in 1...\(StopCondition.maxTokens), got \(value)")
    }
}

/// Benchmarks' --repeats and --warmup: bounded, so a typo cannot start a run of days.
func validateRepeats(_ repeats: Int, warmup: Int?) throws {
    guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be in 1...1000, got \(repeats)") }
    if let warmup, !(0...1000).contains(warmup) { throw ValidationError("--warmup must be in 0...1000, got \(warmup)") }
}

/// Checks a comma-separated list of thread counts (the benchmarks' --threads): each in 1...cores.
func validateThreadList(_ list: String) throws {
    let cores = ComputeThreads.available
    guard list.split(separator: ",", omittingEmptySubsequences: false).allSatisfy({ Int($0).map { (1...cores).contains($0) } ?? false }) else {
        throw ValidationError("--threads takes counts from 1 to the \(cores) cores, separated by commas, got \(list)")
    }
}

/// Standard error, for progress and diagnostics; stdout carries only results.
enum Console {
    static var isTerminal: Bool { isatty(fileno(stderr)) != 0 }

    static func status(_ text: String) {
        StandardStreams.writeError(text + "\n")
    }

    /// Rewrites the current terminal line (used for the live progress line).
    static func overwrite(_ text: String) {
        StandardStreams.writeError("\r\u{1B}[K" + text)
    }

    /// A prompt on stderr without a newline (interactive chat).
    static func prompt(_ text: String) {
        StandardStreams.writeError(text)
    }

    /// Results on stdout; a failed write ends the process (see `StandardStreams.writeOutput`).
    static func out(_ text: String) {
        StandardStreams.writeOutput(text.utf8)
    }

    /// `print` for results: a line on stdout through `out`, never lost in a stdio buffer at exit.
    static func line(_ text: String = "") {
        out(text + "\n")
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let total = Int(seconds.rounded())
    if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
    if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
    return "\(total)s"
}

func formatCount(_ value: Int) -> String {
    value >= 1_000_000 ? String(format: "%.2fM", Double(value) / 1e6) : value >= 1000 ? String(format: "%.1fK", Double(value) / 1e3) : "\(value)"
}

/// `--weights`, shared by `generate` and `chat`.
struct DecodeOptions: ParsableArguments {
    @Option(help: "Weights for decoding steps: float32, or int8 (a quarter of the memory traffic, ~3x faster decoding on small models, logits within the int8 rounding error; needs a width that is a multiple of 64).")
    var weights: DecodeWeights = .float32

    func engine(for model: GPT) throws -> InferenceEngine { try InferenceEngine(model: model, decodeWeights: weights) }
}

extension DecodeWeights: ExpressibleByArgument {}
