import Alignment
import ArgumentParser
import Core
import Foundation
import Model
import Tokenizers

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning on instruction demonstrations (loss on response tokens only).",
        discussion: """
        Reads sft_train.jsonl, sft_val.jsonl and heldout_prompts.jsonl from --data (see `minigpt data instruct`). \
        The base model's tokenizer must hold the chat template's special tokens. Trains until the validation loss \
        stops improving (--patience evaluations) or --steps, keeps the best weights, and scores the base and the \
        fine-tuned model on the held-out prompts with the gold judge (greedy replies). With \
        --pretraining-share above 0 (the default), that share of every batch is windows of --data's \
        pretrain.txt, so the facts learnt in pretraining are rehearsed. Writes the model, sft_metrics.jsonl \
        (the validation curve) and sft_report.json to --out.
        """
    )

    @Option(help: "Base model directory.") var base: String
    @Option(help: "Instruction data directory.") var data: String
    @Option(help: "Output model directory (must not hold a model yet).") var out: String
    @Option(help: "Maximum optimizer steps.") var steps = SFTConfig().maxSteps
    @Option(help: "Peak learning rate.") var lr = SFTConfig().learningRate
    @Option(help: "Sequences per batch.") var batch = SFTConfig().batchSize
    @Option(help: "Evaluate the validation loss every N steps.") var evalEvery = SFTConfig().evalEvery
    @Option(help: "Stop after N evaluations without a new best validation loss.") var patience = SFTConfig().patience
    @Option(help: "Share of each batch taken from pretrain.txt (0 = demonstrations only).") var pretrainingShare = SFTConfig().pretrainingShare
    @Option(help: "Seed for batch sampling.") var seed = SFTConfig().seed
    @Option(help: "Token limit of a generated reply in the gold evaluation.") var maxNewTokens = 24
    @OptionGroup var threadOptions: ThreadOptions

    var sftConfig: SFTConfig {
        var config = SFTConfig()
        config.maxSteps = steps
        config.learningRate = lr
        config.batchSize = batch
        config.evalEvery = evalEvery
        config.patience = patience
        config.pretrainingShare = pretrainingShare
        config.seed = seed
        return config
    }

    func validate() throws {
        try sftConfig.validate()
    }

    func run() throws {
        try threadOptions.apply()
        try refuseToOverwriteModel(out)
        let (model, tokenizer) = try StageDirectory.load(base)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let train = try JSONL.read(Demonstration.self, from: data + "/" + InstructFiles.sftTrain)
        let validation = try JSONL.read(Demonstration.self, from: data + "/" + InstructFiles.sftValidation)
        let heldOut = try JSONL.read(PromptRecord.self, from: data + "/" + InstructFiles.heldOutPrompts)
        let pretrainingTokens = try SupervisedFineTuner.pretrainingTokens(data: data, tokenizer: tokenizer, config: sftConfig)
        let tuner = try SupervisedFineTuner(model: model, encoder: encoder, train: train, validation: validation,
                                            pretrainingTokens: pretrainingTokens, config: sftConfig)

        let baseGold = try GoldEvaluation.evaluate(model: model, encoder: encoder, prompts: heldOut, maxNewTokens: maxNewTokens)
        Console.status(String(format: "base model: held-out gold score %.3f", baseGold.meanScore))
        let started = Date()
        let result = try tuner.run { point in
            let train = point.trainLoss.map { String(format: "%.4f", $0) } ?? "-"
            Console.status(String(format: "step %d | train %@ | val %.4f", point.step, train, point.validationLoss))
        }
        let sftGold = try GoldEvaluation.evaluate(model: model, encoder: encoder, prompts: heldOut, maxNewTokens: maxNewTokens)

        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: out,
                                metadata: ["stage": "sft", "base": base, "best_step": "\(result.bestStep)"])
        try JSONL.write(result.curve, to: out + "/sft_metrics.jsonl")
        let report = SFTReport(config: sftConfig, result: result, base: baseGold, sft: sftGold)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try json.encode(report), to: out + "/sft_report.json")
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); model in \(out)")
        Console.out(String(format: "best val loss %.4f at step %d (%@)\n", result.bestValidationLoss, result.bestStep,
                           result.stoppedAtPlateau ? "stopped at the plateau" : "step limit reached"))
        Console.out(String(format: "held-out gold score: base %.3f -> sft %.3f\n", baseGold.meanScore, sftGold.meanScore))
        for family in sftGold.exactMatch.keys.sorted() {
            Console.out(String(format: "  exact match %-8@ base %.2f  sft %.2f\n", family, baseGold.exactMatch[family] ?? 0, sftGold.exactMatch[family] ?? 0))
        }
    }
}

struct SFTReport: Codable {
    var config: SFTConfig
    var result: SFTResult
    var base: GoldReport
    var sft: GoldReport
}

/// Refuses an output directory that already holds a model, so nothing is overwritten.
func refuseToOverwriteModel(_ directory: String) throws {
    if FileManager.default.fileExists(atPath: directory + "/" + ModelDirectory.weightsFile) {
        throw ValidationError("\(directory) already holds a model; choose another --out")
    }
}
