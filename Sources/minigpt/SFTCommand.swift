import Alignment
import ArgumentParser
import Core
import Foundation
import Model
import Pipeline
import Tasks

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning on instruction demonstrations (loss on response tokens only).",
        discussion: """
        Reads sft_train.jsonl, sft_val.jsonl and heldout_prompts.jsonl from --data (see `minigpt data instruct`). \
        The base model's tokenizer must hold the chat template's special tokens. Trains until the validation loss \
        stops improving (--patience evaluations) or --steps, keeps the best weights, and scores the base and the \
        fine-tuned model on the held-out prompts with the gold judge (greedy replies). With \
        --pretraining-share above 0, that share of every batch is windows of --data's pretrain.txt, so the facts \
        learnt in pretraining are rehearsed. Unset flags take the --preset's values (the pipeline's SFT). Writes the \
        model, sft_metrics.jsonl (the validation curve) and sft_report.json to --out.
        """
    )

    @Option(help: "Base model directory.") var base: String
    @Option(help: "Instruction data directory.") var data: String
    @Option(help: "Output model directory (must not hold a model yet).") var out: String
    @OptionGroup var preset: PresetOption
    @Option(help: "Maximum optimizer steps.") var steps: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(help: "Sequences per batch.") var batch: Int?
    @Option(help: "Evaluate the validation loss every N steps.") var evalEvery: Int?
    @Option(help: "Stop after N evaluations without a new best validation loss.") var patience: Int?
    @Option(help: "Share of each batch taken from pretrain.txt (0 = demonstrations only).") var pretrainingShare: Double?
    @Option(help: "Seed for batch sampling.") var seed: UInt64?
    @Option(help: "Token limit of a generated reply in the gold evaluation.") var maxNewTokens = PipelineConfig().evaluationMaxNewTokens
    @OptionGroup var threadOptions: ThreadOptions

    var sftConfig: SFTConfig {
        var config = preset.config.sft
        if let steps { config.maxSteps = steps }
        if let lr { config.learningRate = lr }
        if let batch { config.batchSize = batch }
        if let evalEvery { config.evalEvery = evalEvery }
        if let patience { config.patience = patience }
        if let pretrainingShare { config.pretrainingShare = pretrainingShare }
        if let seed { config.seed = seed }
        return config
    }

    func validate() throws {
        try validating([("SFT max steps", "--steps"), ("SFT eval every", "--eval-every"), ("SFT patience", "--patience"),
                        ("SFT batch", "--batch"), ("SFT learning rate", "--lr"), ("SFT pretraining share", "--pretraining-share")]) {
            try sftConfig.validate()
        }
    }

    func run() throws {
        try threadOptions.apply()
        try refuseToOverwriteModel(out)
        var stage = SFTStage(base: base, data: DataDirectory(data), out: out, config: sftConfig)
        stage.judgeHeldOut = true
        stage.maxNewTokens = maxNewTokens
        let started = Date()
        let output: SFTStage.Output
        do {
            output = try stage.run { Console.status($0) }
        } catch CoreError.fileNotFound(let path) where path.hasSuffix(InstructFiles.pretrainText) {
            throw ValidationError("\(path) does not exist: SFT rehearses the pretraining text (--pretraining-share 0 turns that off)")
        }
        let result = output.result
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); model in \(out)")
        Console.out(String(format: "best val loss %.4f at step %d (%@)\n", result.bestValidationLoss, result.bestStep,
                           result.stoppedAtPlateau ? "stopped at the plateau" : "step limit reached"))
        guard let before = output.base, let after = output.sft else { return }
        Console.out(String(format: "held-out gold score: base %.3f -> sft %.3f\n", before.meanScore, after.meanScore))
        for family in after.exactMatch.keys.sorted() {
            Console.out(String(format: "  exact match %-8@ base %.2f  sft %.2f\n", family, before.exactMatch[family] ?? 0, after.exactMatch[family] ?? 0))
        }
    }
}

/// Refuses an output directory that already holds a model, so nothing is overwritten.
func refuseToOverwriteModel(_ directory: String) throws {
    if FileManager.default.fileExists(atPath: directory + "/" + ModelDirectory.weightsFile) {
        throw ValidationError("\(directory) already holds a model; choose another --out")
    }
}
