import Core
import Foundation
import Plotting

extension ArchitectureComparison {
    /// The figures, by file name: validation loss against training time and against tokens seen, loss by
    /// position in the context window, and probe accuracy against distance (with chance).
    public var plots: [(String, SVGLinePlot)] {
        func series(_ value: (ArchitectureResult) -> [(x: Double, y: Double)]) -> [PlotSeries] {
            results.map { PlotSeries(name: $0.architecture.rawValue.uppercased(), points: value($0)) }
        }
        let probeChance = PlotSeries(name: "chance", points: (config.probeDistances.first.map { [(Double($0), LongRangeProbe.chance)] } ?? [])
                                     + (config.probeDistances.last.map { [(Double($0), LongRangeProbe.chance)] } ?? []))
        return [
            ("loss_vs_time.svg", SVGLinePlot(title: "Validation loss against training time (same corpus, ~same parameters)",
                                             xLabel: "training seconds", yLabel: "validation loss (nats/char)",
                                             series: series { $0.curve.map { ($0.seconds, $0.validationLoss) } })),
            ("loss_vs_tokens.svg", SVGLinePlot(title: "Validation loss against tokens seen", xLabel: "training tokens (thousands)",
                                               yLabel: "validation loss (nats/char)",
                                               series: series { $0.curve.map { (Double($0.tokens) / 1000, $0.validationLoss) } })),
            ("loss_by_position.svg", SVGLinePlot(title: "Loss by position in the context window", xLabel: "position (tokens of context seen)",
                                                 yLabel: "validation loss (nats/char)",
                                                 series: series { $0.lossByPosition.enumerated().map { (Double($0.offset + 1), $0.element) } })),
            ("long_range_probe.svg", SVGLinePlot(title: "Recall of the token N positions back", xLabel: "distance N",
                                                 yLabel: "accuracy",
                                                 series: series { $0.probe.map { (Double($0.distance), $0.accuracy) } } + [probeChance])),
        ]
    }

    /// A markdown summary: the machine, one table for the language model, one for the probe.
    public var markdown: String {
        var lines = ["# GPT against LSTM", "",
                     "Measured on \(machine.cpuModel) (\(machine.cores) cores), \(machine.date); corpus \(config.corpus), "
                     + "\(Int(config.seconds)) s of training per model, context \(config.contextLength), batch \(config.batchSize).", "",
                     "| model | layers x width | parameters | lr | steps | tokens seen | val loss start | val loss end | loss at position 1 | loss at position \(config.contextLength) | other processes (cores) |",
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        for result in results {
            let first = result.curve.first?.validationLoss ?? .nan, last = result.curve.last?.validationLoss ?? .nan
            lines.append(String(format: "| %@ | %d x %d | %d | %.0e | %d | %d | %.3f | %.3f | %.3f | %.3f | %.2f |",
                                result.architecture.displayName, result.shape.layers, result.shape.width, result.parameters,
                                Double(result.learningRate), result.steps, result.curve.last?.tokens ?? 0, first, last,
                                result.lossByPosition.first ?? .nan, result.lossByPosition.last ?? .nan, result.foreignCores))
        }
        lines += ["", "Long-range probe: accuracy of the letter N positions back (chance \(String(format: "%.3f", LongRangeProbe.chance)); "
                  + "\(Int(config.probeSeconds)) s of training per model, \(config.probeEpisodes) episodes per N).", "",
                  "| N | " + results.map { "\($0.architecture.displayName) (\($0.probeSteps) steps)" }.joined(separator: " | ") + " |",
                  "|---|" + results.map { _ in "---|" }.joined()]
        for (index, distance) in config.probeDistances.enumerated() {
            lines.append("| \(distance) | " + results.map { String(format: "%.3f", $0.probe[index].accuracy) }.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes results.json, report.md and the four SVG figures into `directory`.
    public func write(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: directory + "/results.json")
        try AtomicFile.write(markdown, to: directory + "/report.md")
        for (name, plot) in plots { try AtomicFile.write(plot.render(), to: directory + "/" + name) }
    }
}
