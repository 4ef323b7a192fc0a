import ArgumentParser
import Core
import Foundation
import Model

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for BLAS and MiniGPT's own loops (default: the number of cores).")
    var threads: Int = ComputeThreads.available

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func apply() throws { try ComputeThreads.set(threads) }

    /// Like `apply`, but the default divides the cores among `localProcesses` processes on this machine
    /// (MPI ranks), so that they do not oversubscribe it; an explicit --threads is kept.
    func apply(sharingCoresWith localProcesses: Int) throws {
        let isDefault = threads == ComputeThreads.available
        try ComputeThreads.set(isDefault ? max(1, threads / max(1, localProcesses)) : threads)
    }
}

/// Standard error, for progress and diagnostics; stdout carries only results.
enum Console {
    static var isTerminal: Bool { isatty(fileno(stderr)) != 0 }

    static func status(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Rewrites the current terminal line (used for the live progress line).
    static func overwrite(_ text: String) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    /// A prompt on stderr without a newline (interactive chat).
    static func prompt(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
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
