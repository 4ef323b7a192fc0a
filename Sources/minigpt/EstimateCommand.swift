import Accounting
import ArgumentParser
import Foundation
import Model

/// `minigpt estimate`: training compute, time and cost of a model, and its inference cost per token.
struct EstimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate",
        abstract: "Estimate training FLOPs, PF-days, time and cost, and inference cost per token.",
        discussion: """
        training FLOPs = D * (6*N + 6*n_layer*n_ctx*d_model)
        PF-days = training FLOPs / (1e15 * 86400)
        inference FLOPs per token = 2*N + 2*n_layer*n_ctx*d_model

        Kaplan et al. 2020, Table 1, with N = total parameters (LM head tied). \
        With --params the attention term is left out.

        GPT-3: minigpt estimate --params 175B --tokens 300B (3.15e23 FLOPs, 3646 PF-days)
        """
    )

    @Option(help: "Raw parameter count instead of a model config, e.g. 175e9 or 175B.") var params: String?
    @Option(help: "Transformer layers (n_layer).") var layers: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "Embedding width (d_model).") var width: Int?
    @Option(help: "Context length (n_ctx).") var context: Int?
    @Option(help: "Vocabulary size.") var vocab: Int?
    @Option(help: "Training tokens D, e.g. 300e9 or 300B.") var tokens: String
    @Option(help: "Achieved FLOP/s of the whole job, e.g. 1.5e15 or 1.5P.") var flopsPerSecond: String?
    @Option(help: "Training tokens per second of the whole job.") var tokensPerSecond: String?
    @Option(help: "Peak FLOP/s of one device, e.g. 312T (use with --mfu and --devices).") var peakFlops: String?
    @Option(help: "Model FLOPs utilisation in (0, 1], e.g. 0.4.") var mfu: Double?
    @Option(help: "Number of devices.") var devices: Int = 1
    @Option(help: "Price of one device for one hour.") var pricePerHour: String?
    @Option(help: "Positions a generated token attends to (default: the model's context).") var inferenceContext: Int?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let estimate = try ComputeEstimate(try makeRequest())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            Console.line(String(decoding: try encoder.encode(estimate), as: UTF8.self))
        } else {
            Console.out(table(estimate))
        }
    }

    private func makeRequest() throws -> EstimateRequest {
        let configFlags: [(String, Int?)] = [("--layers", layers), ("--heads", heads), ("--width", width),
                                             ("--context", context), ("--vocab", vocab)]
        let model: ModelSize
        if let params {
            if let given = configFlags.first(where: { $0.1 != nil }) {
                throw AccountingError.invalid("give either --params or a model config (--layers --heads --width --context --vocab), not both (\(given.0) was given)")
            }
            model = try ModelSize(parameters: try Quantity.parse(params, name: "--params"))
        } else {
            let missing = configFlags.filter { $0.1 == nil }.map(\.0)
            guard missing.isEmpty else {
                throw AccountingError.invalid("give --params or a full model config; missing \(missing.joined(separator: " "))")
            }
            model = try ModelSize(config: ModelConfig(vocabularySize: vocab!, contextLength: context!, layers: layers!,
                                                      heads: heads!, width: width!))
        }

        let rates = [flopsPerSecond.map { _ in "--flops-per-second" }, tokensPerSecond.map { _ in "--tokens-per-second" },
                     peakFlops.map { _ in "--peak-flops" }].compactMap { $0 }
        guard rates.count <= 1 else { throw AccountingError.invalid("give only one of \(rates.joined(separator: ", "))") }
        var throughput: Throughput?
        if let flopsPerSecond {
            throughput = .flopsPerSecond(try Quantity.parse(flopsPerSecond, name: "--flops-per-second"))
        } else if let tokensPerSecond {
            throughput = .tokensPerSecond(try Quantity.parse(tokensPerSecond, name: "--tokens-per-second"))
        } else if let peakFlops {
            guard let mfu else { throw AccountingError.invalid("--peak-flops needs --mfu (model FLOPs utilisation, e.g. 0.4)") }
            throughput = .peak(flopsPerSecondPerDevice: try Quantity.parse(peakFlops, name: "--peak-flops"), utilization: mfu)
        }
        if mfu != nil && peakFlops == nil { throw AccountingError.invalid("--mfu only applies with --peak-flops") }

        return EstimateRequest(model: model, tokens: try Quantity.parse(tokens, name: "--tokens"), throughput: throughput,
                               devices: devices, pricePerDeviceHour: try pricePerHour.map(parsePrice),
                               inferenceContext: inferenceContext)
    }

    /// A price may be 0 (own hardware), which `Quantity` rejects.
    private func parsePrice(_ text: String) throws -> Double {
        if let value = Double(text), value == 0 { return 0 }
        return try Quantity.parse(text, name: "--price-per-hour")
    }

    private func table(_ e: ComputeEstimate) -> String {
        var rows: [(String, String)] = [
            ("parameters N (total)", count(e.totalParameters)),
            ("parameters (non-embedding)", e.nonEmbeddingParameters.map(count) ?? "n/a (raw --params)"),
            ("training tokens D", count(e.trainingTokens)),
            ("training FLOPs/token", "6*N + 6*n_layer*n_ctx*d_model = \(sci(e.denseTrainingFLOPsPerToken)) + "
                + "\(sci(e.attentionTrainingFLOPsPerToken)) = \(sci(e.trainingFLOPsPerToken))"),
            ("training FLOPs", "D * FLOPs/token = \(sci(e.trainingFLOPs))"),
            ("PF-days", "FLOPs / 8.64e19 = \(String(format: "%.5g", e.pfDays))"),
        ]
        if let rate = e.achievedFLOPsPerSecond {
            rows.append(("achieved FLOP/s", "\(sci(rate)) on \(e.devices) device\(e.devices == 1 ? "" : "s")"))
        }
        if let seconds = e.trainingSeconds { rows.append(("training time", duration(seconds))) }
        if let cost = e.trainingCost { rows.append(("training cost", money(cost))) }
        let context = e.inferenceContext.map { " at n_ctx = \($0)" } ?? " (no attention term)"
        rows.append(("inference FLOPs/token", "2*N + 2*n_layer*n_ctx*d_model\(context) = \(sci(e.inferenceFLOPsPerToken))"))
        if let seconds = e.inferenceSecondsPer1kTokens {
            rows.append(("inference time/1k tokens", duration(seconds) + " (at the training FLOP/s; a lower bound)"))
        }
        if let cost = e.inferenceCostPer1kTokens { rows.append(("inference cost/1k tokens", money(cost))) }
        if e.attentionTrainingFLOPsPerToken == 0 {
            rows.append(("note", "attention term left out: give a model config instead of --params to include it"))
        }
        let nameWidth = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + $0.1 + "\n" }.joined()
    }

    private func sci(_ value: Double) -> String { String(format: "%.4e", value) }

    private func count(_ value: Double) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        guard let (scale, unit) = units.first(where: { value >= $0.0 }) else { return String(format: "%.0f", value) }
        return String(format: "%.0f", value) + " (" + String(format: "%.4g", value / scale) + unit + ")"
    }

    private func duration(_ seconds: Double) -> String {
        if seconds >= 86_400 { return String(format: "%.4g s = %.4g days", seconds, seconds / 86_400) }
        if seconds >= 3_600 { return String(format: "%.4g s = %.4g hours", seconds, seconds / 3_600) }
        return String(format: "%.4g s", seconds)
    }

    private func money(_ amount: Double) -> String { String(format: "%.4g", amount) }
}
