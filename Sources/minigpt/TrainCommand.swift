import ArgumentParser
import Core
import Foundation
import Model
import Tokenizers
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT on a text corpus (character-level, or with a tokenizer file).",
        discussion: """
        The last --val-fraction of the corpus is held out for validation. Checkpoints (model.safetensors, \
        config.json, tokenizer.json, training_state.safetensors) and metrics.jsonl go to --out. \
        With --resume DIR the run saved in DIR continues with its saved settings (--corpus must name the same corpus; \
        --threads may change, but then the losses are no longer bit-identical).
        """
    )

    @Option(help: "UTF-8 text file to train on.") var corpus: String
    @Option(help: "Tokenizer file (default: a character vocabulary built from the corpus).") var tokenizer: String?
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Attention heads per block.") var heads = 4
    @Option(help: "Embedding width (must be divisible by --heads).") var width = 128
    @Option(help: "Context length in tokens (block size).") var context = 64
    @Option(help: "Sequences per micro-batch.") var batch = 12
    @Option(help: "Optimizer steps.") var steps = 2000
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Final learning rate of the cosine decay (default: --lr / 10).") var minLr: Float?
    @Option(help: "Linear warm-up steps.") var warmup = 100
    @Option(help: "Evaluate on validation batches every N steps (and checkpoint).") var evalEvery = 250
    @Option(help: "Random validation batches per evaluation.") var evalBatches = 20
    @Option(help: "Micro-batches accumulated per optimizer step.") var gradAccum = 1
    @Option(help: "AdamW decoupled weight decay (2-D weights only).") var weightDecay: Float = 0.1
    @Option(help: "Clip the global gradient norm to this (0 = off).") var gradClip: Float = 1.0
    @Option(help: "Fraction of the corpus (its end) held out for validation.") var valFraction = 0.1
    @Option(help: "Also checkpoint every N steps (0 = only at evaluations and the end).") var saveEvery = 0
    @Option(help: "Seed for initialisation and batch sampling.") var seed: UInt64 = 1337
    @Option(help: "Run directory for checkpoints and metrics.") var out = "out"
    @Option(help: "Continue the run saved in this directory.") var resume: String?
    @OptionGroup var threadOptions: ThreadOptions

    var trainConfig: TrainConfig {
        var config = TrainConfig()
        config.batchSize = batch
        config.steps = steps
        config.learningRate = lr
        config.minLearningRate = minLr ?? lr / 10
        config.warmupSteps = warmup
        config.evalEvery = evalEvery
        config.evalBatches = evalBatches
        config.gradientAccumulation = gradAccum
        config.weightDecay = weightDecay
        config.gradientClip = gradClip
        config.validationFraction = valFraction
        config.saveEvery = saveEvery
        config.seed = seed
        return config
    }

    func validate() throws {
        try trainConfig.validate()
        if resume == nil {
            try ModelConfig(vocabularySize: 1, contextLength: context, layers: layers, heads: heads, width: width).validate()
        }
    }

    func run() throws {
        try threadOptions.apply()
        let text = try TextFile.read(corpus)
        let trainer: Trainer
        if let resume {
            let tokenizer = try TokenizerFile.load(resume + "/" + ModelDirectory.tokenizerFile)
            let config = try ModelDirectory.loadConfig(resume)
            let data = try TrainingData(tokens: try tokenizer.encode(text).map(Int32.init), validationFraction: valFraction,
                                        contextLength: config.contextLength)
            trainer = try Trainer.resume(runDirectory: resume, data: data)
            Console.status("resuming \(resume) at step \(trainer.step) of \(trainer.config.steps)")
        } else {
            try refuseToOverwrite(out)
            let vocabulary: any Tokenizer = try tokenizer.map { try TokenizerFile.load($0) } ?? CharTokenizer(corpus: text)
            let tokens = try vocabulary.encode(text).map(Int32.init)
            let modelConfig = ModelConfig(vocabularySize: vocabulary.vocabularySize, contextLength: context, layers: layers,
                                          heads: heads, width: width)
            let data = try TrainingData(tokens: tokens, validationFraction: valFraction, contextLength: context)
            trainer = try Trainer(modelConfig: modelConfig, tokenizer: vocabulary, data: data, config: trainConfig, runDirectory: out)
        }
        let model = trainer.model.config
        Console.status("model: \(model.layers) layers, \(model.heads) heads, width \(model.width), context \(model.contextLength), "
                       + "vocab \(model.vocabularySize): \(formatCount(trainer.model.parameterCount)) parameters")
        Console.status("data: \(formatCount(trainer.data.train.count)) training tokens, \(formatCount(trainer.data.validation.count)) validation tokens; "
                       + "\(trainer.tokensPerStep) tokens/step, \(ComputeThreads.count) threads")
        trainer.peakFLOPS = MachinePeak.measureFLOPS(threads: ComputeThreads.count)
        Console.status(String(format: "measured FP32 peak of %d threads: %.0f GFLOP/s (MFU is quoted against it)",
                              ComputeThreads.count, trainer.peakFLOPS! / 1e9))
        let started = Date()
        let progressEvery = max(1, trainer.config.steps / 40)
        try trainer.run { report in
            let line = progressLine(report)
            if Console.isTerminal {
                Console.overwrite(line)
                if report.validationLoss != nil { Console.status("") }
            } else if report.validationLoss != nil || report.step % progressEvery == 0 {
                Console.status(line)
            }
        }
        let wall = Date().timeIntervalSince(started)
        let full = try Evaluation.crossEntropy(model: trainer.model, tokens: trainer.data.validation, batchSize: trainer.config.batchSize)
        Console.status(String(format: "done in %@: validation loss %.4f over the whole held-out split (%d tokens); checkpoint in %@",
                              formatDuration(wall), full.meanLoss, full.predictedTokens, trainer.runDirectory))
    }

    private func refuseToOverwrite(_ directory: String) throws {
        let existing = [ModelDirectory.weightsFile, Trainer.stateFile].filter {
            FileManager.default.fileExists(atPath: directory + "/" + $0)
        }
        guard existing.isEmpty else {
            throw ValidationError("\(directory) already holds a run; continue it with --resume \(directory) or choose another --out")
        }
    }

    private func progressLine(_ report: StepReport) -> String {
        let validation = report.validationLoss.map { String(format: " | val %.4f", $0) } ?? ""
        let mfu = report.mfu.map { String(format: " | MFU %.0f%%", $0 * 100) } ?? ""
        return String(format: "step %d/%d | loss %.4f%@ | lr %.2e | %.0f tok/s%@ | %.1f ms/step | ETA %@",
                      report.step, report.totalSteps, report.trainLoss, validation, report.learningRate,
                      report.tokensPerSecond, mfu, report.millisecondsPerStep, formatDuration(report.etaSeconds))
    }
}
