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
        The last --val-fraction of the corpus is held out for validation. Checkpoints go to --out/checkpoints/step-N/ \
        (model.safetensors, config.json, tokenizer.json, training_state.safetensors), and --out/checkpoint.json names \
        the newest complete one, so a run killed at any moment keeps a loadable checkpoint; metrics.jsonl is beside them. \
        SIGINT or SIGTERM saves a checkpoint after the current step and exits (status 130 or 143). \
        With --resume DIR the run saved in DIR continues with its saved settings (--corpus must name the same corpus; \
        --threads may change, but then the losses are no longer bit-identical); flags that would be ignored are refused. \
        To continue a finished (or unfinished) run for more steps, give --resume DIR --steps N with the new total N; \
        the cosine schedule stretches to N. A run directory is locked (DIR/lock names the pid) while a run writes to it.
        """
    )

    @Option(help: "UTF-8 text file, or a token file made by `minigpt tokenizer prepare`, to train on.") var corpus: String
    @Option(help: "Tokenizer file or GPT-2 vocabulary directory (default: a character vocabulary built from the corpus).")
    var tokenizer: String?
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
    @Option(help: "Fine-tune: start from this model directory's weights and tokenizer (its shape replaces --layers, --heads, --width, --context).")
    var initFrom: String?
    @Option(help: "On a NaN or infinite loss or gradient: stop (keep the last checkpoint) or skip the batch.")
    var onNonfinite: NonFinitePolicy = .stop
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
        if resume != nil && initFrom != nil { throw ValidationError("give --resume or --init-from, not both") }
        if initFrom != nil && tokenizer != nil { throw ValidationError("--init-from brings its own tokenizer; drop --tokenizer") }
        try Preflight.readableFile(corpus, "--corpus")
        if let tokenizer { try Preflight.readablePath(tokenizer, "--tokenizer") }
        if let initFrom { try Preflight.existingDirectory(initFrom, "--init-from") }
        if let resume {
            try Preflight.existingDirectory(resume, "--resume")
            if tokenizer != nil { throw ValidationError("--resume keeps the run's own tokenizer; drop --tokenizer") }
        } else {
            try Preflight.outputDirectory(out, "--out")
            try ModelConfig(vocabularySize: 1, contextLength: context, layers: layers, heads: heads, width: width).validate()
        }
    }

    func run() throws {
        try threadOptions.apply()
        if resume == nil { try refuseToOverwrite(out) }
        let lock = try RunLock(directory: resume ?? out)  // held until the process exits
        defer { withExtendedLifetime(lock) {} }
        let trainer: Trainer
        if let resume {
            let checkpoint = try Checkpoints.resolve(resume)
            let tokenizer = try TokenizerFile.load(checkpoint + "/" + ModelDirectory.tokenizerFile)
            let config = try ModelDirectory.loadConfig(checkpoint)
            let newTotal = Preflight.given(["--steps"]).isEmpty ? nil : steps
            trainer = try Trainer.resume(runDirectory: resume, steps: newTotal) { saved in
                try TrainingData(tokens: try corpusTokens(tokenizer), validationFraction: saved.validationFraction,
                                 contextLength: config.contextLength)
            }
            try refuseIgnoredSettings(of: trainer)
            Console.status("resuming \(resume) at step \(trainer.step) of \(trainer.config.steps)")
        } else {
            if let initFrom {
                let (model, vocabulary) = try ModelDirectory.load(initFrom)
                let data = try TrainingData(tokens: try corpusTokens(vocabulary), validationFraction: valFraction,
                                            contextLength: model.config.contextLength)
                trainer = try Trainer(model: model, tokenizer: vocabulary, data: data, config: trainConfig, runDirectory: out)
            } else {
                let vocabulary: any Tokenizer
                if let tokenizer {
                    vocabulary = try loadTokenizer(tokenizer)
                } else if TokenFile.looksLikeTokenFile(corpus) {
                    throw ValidationError("\(corpus) is a token file: name the tokenizer that made it with --tokenizer")
                } else {
                    vocabulary = try CharTokenizer(corpus: try TextFile.read(corpus))
                }
                let tokens = try corpusTokens(vocabulary)
                let modelConfig = ModelConfig(vocabularySize: vocabulary.vocabularySize, contextLength: context, layers: layers,
                                              heads: heads, width: width)
                let data = try TrainingData(tokens: tokens, validationFraction: valFraction, contextLength: context)
                trainer = try Trainer(modelConfig: modelConfig, tokenizer: vocabulary, data: data, config: trainConfig, runDirectory: out)
            }
        }
        let model = trainer.model.config
        Console.status("model: \(model.layers) layers, \(model.heads) heads, width \(model.width), context \(model.contextLength), "
                       + "vocab \(model.vocabularySize): \(formatCount(trainer.model.parameterCount)) parameters")
        Console.status("data: \(formatCount(trainer.data.train.count)) training tokens, \(formatCount(trainer.data.validation.count)) validation tokens; "
                       + "\(trainer.tokensPerStep) tokens/step, \(ComputeThreads.count) threads")
        trainer.nonFinitePolicy = onNonfinite
        trainer.peakFLOPS = MachinePeak.measureFLOPS(threads: ComputeThreads.count, iterations: 2_000_000)
        Console.status(String(format: "measured FP32 peak of %d threads: %.0f GFLOP/s (MFU is quoted against it)",
                              ComputeThreads.count, trainer.peakFLOPS! / 1e9))
        let started = Date()
        let progressEvery = max(1, trainer.config.steps / 40)
        StopSignals.install()
        let outcome = try trainer.run(shouldStop: { StopSignals.pending != nil }) { report in
            if let skipped = report.skipped {
                Console.status("step \(report.step): skipped, no update (\(skipped))")
            }
            let line = progressLine(report)
            if Console.isTerminal {
                Console.overwrite(line)
                if report.validationLoss != nil { Console.status("") }
            } else if report.validationLoss != nil || report.step % progressEvery == 0 {
                Console.status(line)
            }
        }
        if case .interrupted(let step) = outcome {
            let signal = StopSignals.pending ?? SIGINT
            Console.status("\n\(StopSignals.name(signal)): stopped after step \(step) of \(trainer.config.steps); checkpoint saved in "
                           + "\(trainer.runDirectory); continue with --resume \(trainer.runDirectory)")
            throw ExitCode(128 + signal)
        }
        let wall = Date().timeIntervalSince(started)
        let full = try Evaluation.crossEntropy(model: trainer.model, tokens: trainer.data.validation, batchSize: trainer.config.batchSize)
        Console.status(String(format: "done in %@: validation loss %.4f over the whole held-out split (%d tokens); checkpoint in %@",
                              formatDuration(wall), full.meanLoss, full.predictedTokens, trainer.runDirectory))
    }

    /// The corpus as token ids: a token file is read as it is (its vocabulary size must match the
    /// tokenizer's), a text file is encoded.
    private func corpusTokens(_ tokenizer: any Tokenizer) throws -> [Int32] {
        guard TokenFile.looksLikeTokenFile(corpus) else { return try tokenizer.encode(try TextFile.read(corpus)).map(Int32.init) }
        let (ids, vocabularySize) = try TokenFile.read(corpus)
        guard vocabularySize == tokenizer.vocabularySize else {
            throw ValidationError("\(corpus) was made with a vocabulary of \(vocabularySize) tokens, but the tokenizer has \(tokenizer.vocabularySize)")
        }
        return ids
    }

    /// A resumed run keeps its saved settings: a flag given with a different value would be silently ignored,
    /// so it is refused by name (giving the same value, e.g. rerunning the original command plus --resume, is fine).
    private func refuseIgnoredSettings(of trainer: Trainer) throws {
        let model = trainer.model.config, saved = trainer.config
        let settings: [(flag: String, given: String, saved: String)] = [
            ("--layers", "\(layers)", "\(model.layers)"), ("--heads", "\(heads)", "\(model.heads)"),
            ("--width", "\(width)", "\(model.width)"), ("--context", "\(context)", "\(model.contextLength)"),
            ("--batch", "\(batch)", "\(saved.batchSize)"), ("--lr", "\(lr)", "\(saved.learningRate)"),
            ("--min-lr", "\(minLr ?? lr / 10)", "\(saved.minLearningRate)"), ("--warmup", "\(warmup)", "\(saved.warmupSteps)"),
            ("--eval-every", "\(evalEvery)", "\(saved.evalEvery)"), ("--eval-batches", "\(evalBatches)", "\(saved.evalBatches)"),
            ("--grad-accum", "\(gradAccum)", "\(saved.gradientAccumulation)"), ("--weight-decay", "\(weightDecay)", "\(saved.weightDecay)"),
            ("--grad-clip", "\(gradClip)", "\(saved.gradientClip)"), ("--val-fraction", "\(valFraction)", "\(saved.validationFraction)"),
            ("--save-every", "\(saveEvery)", "\(saved.saveEvery)"), ("--seed", "\(seed)", "\(saved.seed)"),
            ("--out", URL(fileURLWithPath: out).standardizedFileURL.path, URL(fileURLWithPath: trainer.runDirectory).standardizedFileURL.path),
        ]
        let given = Set(Preflight.given(settings.map(\.flag)))
        let ignored = settings.filter { given.contains($0.flag) && $0.given != $0.saved }
        guard ignored.isEmpty else {
            let list = ignored.map { "\($0.flag) \($0.given) (the run has \($0.saved))" }.joined(separator: ", ")
            throw ValidationError("--resume continues with the run's saved settings, so \(list) would be ignored; drop "
                                  + "\(ignored.count == 1 ? "it" : "them") (only --corpus, --steps, --threads and --on-nonfinite apply)")
        }
    }

    private func refuseToOverwrite(_ directory: String) throws {
        let existing = [ModelDirectory.weightsFile, Trainer.stateFile, Checkpoints.pointerFile].filter {
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

extension NonFinitePolicy: ExpressibleByArgument {}
