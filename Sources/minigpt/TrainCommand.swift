import ArgumentParser
import Core
import Foundation
import Model
import MultiProcess
import Tokenizers
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT (or, with --arch lstm, an LSTM) on a text corpus (character-level, or with a tokenizer file).",
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

    @Option(help: "Text file (or directory of them), or a token file made by `minigpt tokenizer prepare`, to train on.") var corpus: String
    @Option(help: "Tokenizer file or GPT-2 vocabulary directory (default: a character vocabulary built from the corpus).")
    var tokenizer: String?
    @Option(help: "Network: gpt (Transformer, the default) or lstm (the recurrent baseline: --layers LSTM layers of --width units; --heads is unused).")
    var arch: Architecture?
    @Option(help: "Transformer blocks (LSTM layers with --arch lstm).") var layers = 4
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
    @Option(help: "Batches of evenly spaced windows of the held-out split scored when the run ends.") var finalEvalBatches = 50
    @Flag(help: "When the run ends, score the whole held-out split instead (with progress).") var fullVal = false
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
        guard finalEvalBatches >= 1 else { throw ValidationError("--final-eval-batches must be at least 1, got \(finalEvalBatches)") }
        if resume != nil && initFrom != nil { throw ValidationError("give --resume or --init-from, not both") }
        if initFrom != nil && tokenizer != nil { throw ValidationError("--init-from brings its own tokenizer; drop --tokenizer") }
        if arch != nil && (resume != nil || initFrom != nil) { throw ValidationError("--arch comes from the model directory with --resume or --init-from; drop it") }
        try Preflight.readablePath(corpus, "--corpus")
        if let tokenizer { try Preflight.readablePath(tokenizer, "--tokenizer") }
        if let initFrom { try Preflight.existingDirectory(initFrom, "--init-from") }
        if let resume {
            try Preflight.existingDirectory(resume, "--resume")
            if tokenizer != nil { throw ValidationError("--resume keeps the run's own tokenizer; drop --tokenizer") }
        } else {
            try Preflight.outputDirectory(out, "--out")
            try modelConfig(vocabularySize: 1).validate()
        }
    }

    /// Under `mpirun -np N` every rank runs this command; an error on any rank ends the whole job.
    func run() throws {
        try runAsRanks { try train(processes: $0) }
    }

    private func train(processes: any ProcessGroup) throws {
        try threadOptions.apply(sharingCoresWith: MPILaunch.localSize ?? 1)
        if resume == nil { try refuseToOverwrite(out) }
        // Rank 0 alone writes the run directory, so it alone holds the lock.
        let lock = processes.isRoot ? try RunLock(directory: resume ?? out) : nil  // held until the process exits
        defer { withExtendedLifetime(lock) {} }
        // Rank 0 alone reports; the others compute in silence.
        let status: (String) -> Void = processes.isRoot ? { Console.status($0) } : { _ in }
        let trainer: Trainer
        if let resume {
            let checkpoint = try Checkpoints.resolve(resume)
            let tokenizer = try TokenizerFile.load(checkpoint + "/" + ModelDirectory.tokenizerFile)
            let config = try ModelDirectory.loadConfig(checkpoint)
            let newTotal = Preflight.given(["--steps"]).isEmpty ? nil : steps
            trainer = try Trainer.resume(runDirectory: resume, steps: newTotal, processes: processes) { saved in
                try corpusData(tokenizer, contextLength: config.contextLength, validationFraction: saved.validationFraction,
                               runDirectory: resume, processes: processes)
            }
            try refuseIgnoredSettings(of: trainer)
            status("resuming \(resume) at step \(trainer.step) of \(trainer.config.steps)")
        } else {
            if let initFrom {
                let (model, vocabulary) = try ModelDirectory.loadLanguageModel(initFrom)
                let data = try corpusData(vocabulary, contextLength: model.config.contextLength, runDirectory: out, processes: processes)
                trainer = try Trainer(model: model, tokenizer: vocabulary, data: data, config: trainConfig, runDirectory: out,
                                      processes: processes)
            } else {
                let vocabulary: any Tokenizer
                if let tokenizer {
                    vocabulary = try loadTokenizer(tokenizer)
                } else if TokenFile.looksLikeTokenFile(corpus) {
                    throw ValidationError("\(corpus) is a token file: name the tokenizer that made it with --tokenizer")
                } else {
                    vocabulary = try CharTokenizer(characters: try CorpusPreparer.distinctCharacters(in: try CorpusPreparer.inputFiles([corpus])))
                }
                let modelConfig = modelConfig(vocabularySize: vocabulary.vocabularySize)
                let data = try corpusData(vocabulary, contextLength: context, runDirectory: out, processes: processes)
                trainer = try Trainer(modelConfig: modelConfig, tokenizer: vocabulary, data: data, config: trainConfig,
                                      runDirectory: out, processes: processes)
            }
        }
        let model = trainer.model.config
        status("model: \(model.architecture.displayName), \(model.layers) layers, \(model.heads) heads, width \(model.width), context \(model.contextLength), "
                       + "vocab \(model.vocabularySize): \(formatCount(trainer.model.parameterCount)) parameters")
        let workers = processes.size > 1 ? "\(processes.size) processes x \(ComputeThreads.count) threads" : "\(ComputeThreads.count) threads"
        status("data: \(formatCount(trainer.data.train.count)) training tokens, \(formatCount(trainer.data.validation.count)) validation tokens; "
               + "\(trainer.tokensPerStep) tokens/step, \(workers)")
        trainer.nonFinitePolicy = onNonfinite
        // MFU is quoted for one process only: the peak of several machines' cores is not measured.
        if processes.size == 1 {
            let peak = MachinePeak.measureFLOPS(threads: ComputeThreads.count, iterations: 2_000_000)
            trainer.peakFLOPS = peak
            status(String(format: "measured FP32 peak of %d threads: %.0f GFLOP/s (MFU is quoted against it)", ComputeThreads.count, peak / 1e9))
        }
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
            status("\n\(StopSignals.name(signal)): stopped after step \(step) of \(trainer.config.steps); checkpoint saved in "
                           + "\(trainer.runDirectory); continue with --resume \(trainer.runDirectory)")
            throw ExitCode(128 + signal)
        }
        let wall = Date().timeIntervalSince(started)
        guard processes.isRoot else { return }
        let final = try Evaluation.crossEntropy(model: trainer.model, tokens: trainer.data.validation, batchSize: trainer.config.batchSize,
                                                maxBatches: fullVal ? nil : finalEvalBatches) { done, total in
            if fullVal && Console.isTerminal { Console.overwrite("validating: \(done) of \(total) windows") }
        }
        if fullVal && Console.isTerminal { Console.status("") }
        Console.status(String(format: "done in %@: validation loss %.4f over %@ (%d tokens); checkpoint in %@", formatDuration(wall), final.meanLoss,
                              fullVal ? "the whole held-out split" : "\(finalEvalBatches) batches of the held-out split", final.predictedTokens,
                              trainer.runDirectory))
    }

    /// The shape of a new model; an LSTM has no heads.
    private func modelConfig(vocabularySize: Int) -> ModelConfig {
        let architecture = arch ?? .gpt
        return ModelConfig(vocabularySize: vocabularySize, contextLength: context, layers: layers,
                           heads: architecture == .lstm ? 1 : heads, width: width, architecture: architecture)
    }

    /// The corpus as training data, memory-mapped: a token file as it is (its vocabulary size must match
    /// the tokenizer's), text first prepared into a token file in the run directory.
    /// Under MPI only rank 0 keeps its token file in the run directory; the other ranks map theirs from a
    /// temporary file removed at once (the mapping outlives the name), so no two ranks write one path.
    private func corpusData(_ tokenizer: any Tokenizer, contextLength: Int, validationFraction: Double? = nil,
                            runDirectory: String, processes: any ProcessGroup) throws -> TrainingData {
        var path = corpus
        var temporary: String?
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        if !TokenFile.looksLikeTokenFile(corpus) {
            if processes.isRoot {
                try ModelDirectory.createDirectory(runDirectory)
                path = runDirectory + "/corpus-tokens.bin"
            } else {
                path = NSTemporaryDirectory() + "minigpt-rank\(processes.rank)-\(UUID().uuidString).bin"
                temporary = path
            }
            try prepareTokenFile(files: try CorpusPreparer.inputFiles([corpus]), tokenizer: tokenizer, out: path, threads: ComputeThreads.count)
        }
        let file = try MappedTokenFile(path: path)
        guard file.vocabularySize == tokenizer.vocabularySize else {
            throw ValidationError("\(corpus) was made with a vocabulary of \(file.vocabularySize) tokens, but the tokenizer has \(tokenizer.vocabularySize)")
        }
        return try TrainingData(file: file, validationFraction: validationFraction ?? valFraction, contextLength: contextLength)
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
