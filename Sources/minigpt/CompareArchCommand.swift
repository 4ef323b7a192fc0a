import ArgumentParser
import Benchmarking
import Core
import Foundation
import Model

struct CompareArchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-arch",
        abstract: "Train a GPT and an LSTM of about the same size for the same wall time and compare them.",
        discussion: """
        On the same character-level corpus: validation loss against training time and against tokens seen, loss by \
        position in the context window, and a long-range probe (recall the letter N positions back; accuracy against N). \
        Writes results.json, report.md, four SVG figures and both models' run directories to --out. The defaults take \
        about 10 minutes on 2 cores (build with -c release, on a quiet machine); --quick runs tiny models for seconds, \
        to check that everything works. See docs/architectures.md.
        """
    )

    @Option(help: "Text corpus (character-level).") var corpus = "Corpora/shakespeare9.txt"
    @Option(help: "Output directory.") var out = "Benchmarks/results/compare-arch"
    @Flag(help: "Tiny models, a few seconds each: proves the pipeline, measures nothing.") var quick = false
    @Option(help: "Training seconds per model on the corpus (default 180; 3 with --quick).") var seconds: Double?
    @Option(help: "Training seconds per model on the long-range probe (default 90; 3 with --quick).") var probeSeconds: Double?
    @Flag(help: "Before each model, wait (up to 2 minutes) until other processes use under 0.15 core.")
    var waitForQuiet = false
    @OptionGroup var threadOptions: ThreadOptions

    var comparisonConfig: ArchitectureComparisonConfig {
        var config = quick ? .quick(corpus: corpus) : ArchitectureComparisonConfig(corpus: corpus)
        if let seconds { config.seconds = seconds }
        if let probeSeconds { config.probeSeconds = probeSeconds }
        config.waitForQuiet = waitForQuiet
        return config
    }

    func validate() throws {
        try comparisonConfig.validate()
    }

    func run() throws {
        try threadOptions.apply()
        try ModelDirectory.createDirectory(out)
        let comparison = try ArchitectureComparison.run(comparisonConfig, outputDirectory: out) { Console.status($0) }
        try comparison.write(to: out)
        Console.out(comparison.markdown)
        Console.status("wrote \(out)/report.md, results.json and \(comparison.plots.map(\.0).joined(separator: ", "))")
    }
}
