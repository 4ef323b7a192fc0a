import ArgumentParser
import Foundation
import Pipeline

struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run every alignment stage end to end: data, pretraining, SFT, reward model, PPO, then a report.",
        discussion: """
        The full preset starts from the shipped pretrained base (\(PipelineCommand.shippedBase), run from the \
        repository root) unless --base names another or --pretrain asks for one pretrained from scratch (about two \
        hours on 2 cores); --quick pretrains its tiny model. \
        Writes into --out: data/ (unless --data), tokenizer.json and base/ (when pretraining), sft/, rm/, ppo/, dpo/ \
        and ppo_gold_reward/ (each an ordinary model directory), report.md with plots/*.svg, and report.json. With \
        more than one --reward-rounds, each earlier round writes rm_roundN/ and ppo_roundN/, and the next reward \
        model also learns from the judge's comparisons of that PPO policy's answers. The \
        report compares the base, SFT, PPO and DPO models on the held-out prompts: greedy and sampled gold score, \
        reward-model score, KL to SFT and exact match per task family. Its last row is a diagnostic, not a stage: \
        the same PPO rewarded by the gold judge instead of the reward model, the most any reward model could give. \
        --quick shrinks every stage so the whole run takes well under a minute (for CI); its numbers only show \
        that the stages run.
        """
    )

    @Option(help: "Output directory (must not exist yet, or be empty).") var out: String
    @Flag(help: "The quick preset: a small, fast configuration of every stage (for CI; same as --preset quick).") var quick = false
    @OptionGroup var preset: PresetOption
    @Option(help: "Start from this base model (its tokenizer must hold the chat markers; default with the full preset: \(PipelineCommand.shippedBase)).")
    var base: String?
    @Flag(help: "Pretrain the base model from scratch on the data's pretrain.txt instead of starting from a pretrained one.") var pretrain = false
    @Option(help: "Use this instruction data directory instead of generating one.") var data: String?
    @Option(help: "Seed of the generated instruction data.") var dataSeed: UInt64?
    @Option(help: "Rounds of reward model then PPO; every round after the first adds the previous PPO policy's answers, ranked by the judge, to the reward model's pairs (default: \(PipelineConfig.full.rewardRounds)).")
    var rewardRounds: Int?
    @Option(help: "Transformer blocks of the pretrained base model (default: \(PipelineConfig.full.layers); not with --base).") var layers: Int?
    @Option(help: "Attention heads per block of the pretrained base model (default: \(PipelineConfig.full.heads); not with --base).") var heads: Int?
    @Option(help: "Width of the pretrained base model (default: \(PipelineConfig.full.width); not with --base).") var width: Int?
    @Flag(help: "Only rewrite report.md and the plots of the finished run in --out from its report.json.") var reportOnly = false
    @OptionGroup var threadOptions: ThreadOptions

    var pipelineConfig: PipelineConfig {
        var config = quick ? PipelineConfig.quick : preset.config
        if let dataSeed { config.data.seed = dataSeed }
        if let rewardRounds { config.rewardRounds = rewardRounds }
        if let layers { config.layers = layers }
        if let heads { config.heads = heads }
        if let width { config.width = width }
        return config
    }

    /// The pretrained base the full preset starts from.
    static let shippedBase = "Models/tiny-chat-base"

    /// The base model to start from, nil to pretrain one.
    var baseDirectory: String? {
        if pretrain { return nil }
        return base ?? (quick || preset.preset == "quick" ? nil : Self.shippedBase)
    }

    func validate() throws {
        do { try pipelineConfig.validate() } catch { throw ValidationError("\(error)") }
        guard !(pretrain && base != nil) else { throw ValidationError("--pretrain and --base exclude each other") }
        if baseDirectory != nil, layers != nil || heads != nil || width != nil {
            throw ValidationError("--layers, --heads and --width size the base model the pipeline pretrains; with --base it keeps that model's size (add --pretrain to pretrain one)")
        }
    }

    func run() throws {
        if reportOnly {
            guard FileManager.default.fileExists(atPath: out + "/report.json") else {
                throw ValidationError("\(out) holds no report.json of a finished pipeline run")
            }
            try PipelineReport.rewrite(directory: out)
            Console.status("rewrote \(out)/report.md and \(out)/plots")
            return
        }
        try threadOptions.apply()
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: out), !contents.isEmpty {
            throw ValidationError("\(out) is not empty; choose a new --out so no earlier run is overwritten")
        }
        if base == nil, let shipped = baseDirectory, !FileManager.default.fileExists(atPath: shipped) {
            throw ValidationError("the shipped base \(shipped) is not here: run from the repository root, or give --base DIR or --pretrain")
        }
        for directory in [base, data].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: directory) {
            throw ValidationError("\(directory) does not exist")
        }
        let started = Date()
        let pipeline = try AlignmentPipeline(config: pipelineConfig, directory: out, baseDirectory: baseDirectory, dataDirectory: data)
        let result = try pipeline.run { Console.status($0) }
        try PipelineReport.write(result, to: out)
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); report in \(out)/report.md")
        Console.out(AlignmentReport.comparisonTable(result.stages))
    }
}
