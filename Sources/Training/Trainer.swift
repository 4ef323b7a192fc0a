import Core
import Foundation
import Model
import Tokenizers

/// What one optimizer step reports to whoever shows progress.
public struct StepReport: Codable, Sendable {
    public var step: Int
    public var totalSteps: Int
    public var trainLoss: Float
    public var validationLoss: Float?
    public var learningRate: Float
    public var gradientNorm: Float
    public var tokensPerSecond: Double
    public var millisecondsPerStep: Double
    public var etaSeconds: Double
    /// Model FLOPs utilisation: achieved training FLOP/s over the machine's measured peak (nil when not measured).
    public var mfu: Double?
    /// Why the step made no update (`--on-nonfinite skip`); absent for a normal step.
    public var skipped: String? = nil

    enum CodingKeys: String, CodingKey {
        case step
        case totalSteps = "total_steps"
        case trainLoss = "train_loss"
        case validationLoss = "val_loss"
        case learningRate = "lr"
        case gradientNorm = "grad_norm"
        case tokensPerSecond = "tokens_per_sec"
        case millisecondsPerStep = "ms_per_step"
        case etaSeconds = "eta_sec"
        case mfu
        case skipped
    }
}

/// Runs AdamW training of a language model (GPT or LSTM) on a token stream, writing checkpoints and a metrics log to a run
/// directory. A run can be resumed from its directory and then produces exactly the losses of an
/// uninterrupted run (same seed and thread count), because the data generator's state is saved too.
public final class Trainer {
    public static let stateFile = "training_state.safetensors"
    public static let metricsFile = "metrics.jsonl"
    public static let stateFormat = "minigpt-training-state"

    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    public let config: TrainConfig
    public let data: TrainingData
    public let runDirectory: String
    /// Completed optimizer steps.
    public internal(set) var step: Int
    /// What a NaN or infinite loss or gradient does: stop with an error (default) or skip the batch.
    public var nonFinitePolicy: NonFinitePolicy = .stop
    /// Called with the summed gradients and the 1-based step number before clipping and the update
    /// (for diagnostics, and for tests that inject non-finite values).
    public var afterBackward: ((FloatBuffer, Int) -> Void)?
    /// The step of the checkpoint currently on disk, if any.
    public internal(set) var savedStep: Int?
    /// Why the last step was skipped, or nil when it made an update.
    public internal(set) var lastSkipReason: String?
    var consecutiveSkips = 0
    /// FLOP/s the machine can do with the threads in use (see `MachinePeak`); enables the MFU figure.
    public var peakFLOPS: Double?
    private var generator: SeededGenerator
    private let optimizer: AdamW
    private let schedule: LearningRateSchedule
    let dataFingerprint: String
    private var extraReplicas: [any LanguageModel] = []
    /// The processes training this model together; process 0 alone writes the log and checkpoints.
    public let processes: any ProcessGroup

    /// Starts a fresh run: initialises the model from the seed.
    public convenience init(modelConfig: ModelConfig, tokenizer: any Tokenizer, data: TrainingData,
                            config: TrainConfig, runDirectory: String, processes: any ProcessGroup = SingleProcess()) throws {
        try config.validate()
        try modelConfig.validate()
        try Trainer.requireMemory(modelConfig, config)
        var generator = SeededGenerator(seed: config.seed)
        let model = try modelConfig.makeModel(generator: &generator)
        try self.init(model: model, tokenizer: tokenizer, data: data, config: config, runDirectory: runDirectory,
                      step: 0, generator: generator, optimizer: AdamW(model: model, settings: config.adamW), processes: processes)
        // A run killed before its first checkpoint may have logged steps; this run starts the log again.
        try truncateMetrics(after: 0)
    }

    /// Starts a fresh run from existing weights (fine-tuning, e.g. an imported model); the seed still
    /// decides the batches.
    public convenience init(model: any LanguageModel, tokenizer: any Tokenizer, data: TrainingData, config: TrainConfig,
                            runDirectory: String, processes: any ProcessGroup = SingleProcess()) throws {
        try config.validate()
        try Trainer.requireMemory(model.config, config)
        try self.init(model: model, tokenizer: tokenizer, data: data, config: config, runDirectory: runDirectory,
                      step: 0, generator: SeededGenerator(seed: config.seed), optimizer: AdamW(model: model, settings: config.adamW),
                      processes: processes)
        try truncateMetrics(after: 0)
    }

    private init(model: any LanguageModel, tokenizer: any Tokenizer, data: TrainingData, config: TrainConfig, runDirectory: String,
                 step: Int, generator: SeededGenerator, optimizer: AdamW, processes: any ProcessGroup) throws {
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw TrainingError.invalidConfig("tokenizer has \(tokenizer.vocabularySize) tokens, model expects \(model.config.vocabularySize)")
        }
        guard config.batchSize >= processes.size else {
            throw TrainingError.invalidConfig("a batch of \(config.batchSize) rows cannot be shared by \(processes.size) processes")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.data = data
        self.config = config
        self.runDirectory = runDirectory
        self.step = step
        self.generator = generator
        self.optimizer = optimizer
        schedule = LearningRateSchedule(config: config)
        dataFingerprint = data.fingerprint
        self.processes = processes
        try checkProcessesAgree()
    }

    /// Resumes the run saved in `runDirectory`; `data` must be the same token stream it was trained on.
    /// The run's current checkpoint is used (see `Checkpoints`); metrics logged after it are dropped.
    public static func resume(runDirectory: String, data: TrainingData,
                              processes: any ProcessGroup = SingleProcess()) throws -> Trainer {
        try resume(runDirectory: runDirectory, processes: processes) { _ in data }
    }

    /// Resumes the run saved in `runDirectory`, building its data from the saved settings (the validation
    /// fraction decides the split). With `steps`, a run (finished or not) continues to that many steps in
    /// total; the cosine schedule then stretches to the new total.
    public static func resume(runDirectory: String, steps: Int? = nil, processes: any ProcessGroup = SingleProcess(),
                              data makeData: (TrainConfig) throws -> TrainingData) throws -> Trainer {
        let checkpoint = try Checkpoints.resolve(runDirectory)
        let (model, tokenizer) = try ModelDirectory.loadLanguageModel(checkpoint)
        let statePath = checkpoint + "/" + stateFile
        let (tensors, metadata) = try Safetensors.read(statePath)
        func bad(_ reason: String) -> TrainingError { .badRunDirectory(path: runDirectory, reason: reason) }
        guard metadata["format"] == stateFormat else { throw bad("\(stateFile) is not a MiniGPT training state") }
        guard let stepText = metadata["step"], let step = Int(stepText),
              let configText = metadata["train_config"],
              var config = try? JSONDecoder().decode(TrainConfig.self, from: Data(configText.utf8)),
              let rngText = metadata["rng"] else {
            throw bad("\(stateFile) lacks step, train_config or rng")
        }
        do { try config.validate() } catch { throw bad("\(stateFile) holds invalid settings: \(error)") }
        guard step >= 0 else { throw bad("\(stateFile) says step \(step)") }
        if let steps, steps != config.steps {
            guard steps > step else {
                throw TrainingError.invalidConfig("--steps \(steps) must be more than the \(step) steps the run has done")
            }
            config.steps = steps
            try config.validate()
        }
        let data = try makeData(config)
        let words = rngText.split(separator: ",").compactMap { UInt64($0) }
        let generator = try SeededGenerator(state: words)
        let (_, weightsMetadata) = try ModelDirectory.loadWeights(checkpoint + "/" + ModelDirectory.weightsFile, config: model.config)
        guard weightsMetadata["step"] == stepText else {
            throw bad("the weights are from step \(weightsMetadata["step"] ?? "?") but the optimizer state is from step \(stepText)")
        }
        guard metadata["data"] == data.fingerprint else {
            throw bad("the corpus differs from the one this run was trained on")
        }
        try requireMemory(model.config, config)
        let optimizer = AdamW(model: model, settings: config.adamW)
        for (name, buffer) in [("adam.m", optimizer.m), ("adam.v", optimizer.v)] {
            guard let tensor = tensors.first(where: { $0.name == name }), tensor.values.count == buffer.count else {
                throw bad("\(stateFile) has no \(name) of \(buffer.count) values")
            }
            guard tensor.values.allSatisfy({ $0.isFinite }), name == "adam.m" || tensor.values.allSatisfy({ $0 >= 0 }) else {
                throw bad("\(stateFile) holds non-finite or negative values in \(name)")
            }
            tensor.values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: buffer.count) }
        }
        let trainer = try Trainer(model: model, tokenizer: tokenizer, data: data, config: config, runDirectory: runDirectory,
                                  step: step, generator: generator, optimizer: optimizer, processes: processes)
        trainer.savedStep = step
        try trainer.truncateMetrics(after: step)
        return trainer
    }

    /// Refuses a run whose parameters, optimizer state, per-thread gradients and activations would not fit
    /// in memory, before the model is initialised.
    static func requireMemory(_ model: ModelConfig, _ config: TrainConfig) throws {
        let replicas = max(1, min(ComputeThreads.count, config.batchSize))
        try MemoryBudget.require(model.trainingBytes(batch: config.batchSize, replicas: replicas),
                                 for: "training this model with batch \(config.batchSize) and context \(model.contextLength)")
    }

    public var tokensPerStep: Int { config.batchSize * config.gradientAccumulation * model.config.contextLength }

    /// One optimizer step over `gradientAccumulation` micro-batches; returns the mean training loss.
    /// Every process draws the same global batch and computes its own rows; gradients and losses are summed
    /// over the processes before the update, so every process applies the same one.
    /// A non-finite loss or gradient makes no update: it throws (`.stop`) or counts the step as skipped (`.skip`).
    public func trainStep() throws -> (loss: Float, learningRate: Float, gradientNorm: Float) {
        lastSkipReason = nil
        let t = model.config.contextLength, b = config.batchSize, accumulation = config.gradientAccumulation
        let replicas = try replicaSet()
        for replica in replicas { replica.zeroGradients() }
        var lossSum: Float = 0
        for _ in 0..<accumulation {
            let batch = try TrainingData.randomBatch(from: data.train, batch: b, time: t, generator: &generator)
            // Summed over processes per micro-batch, so that the losses add up in the order one process adds them.
            lossSum += try processes.sum(shardedLoss(batch, batch: b, replicas: replicas, backwardScale: 1 / Float(accumulation)))
        }
        let total = model.gradients.pointer
        ComputeThreads.parallelRanges(model.gradients.count, worthSplitting: replicas.count > 1 && model.gradients.count >= 1 << 20) { range in
            for replica in replicas.dropFirst() {
                VectorMath.add(replica.gradients.pointer + range.lowerBound, into: total + range.lowerBound, range.count)
            }
        }
        try processes.sum(total, count: model.gradients.count)
        let loss = lossSum / Float(accumulation)
        guard loss.isFinite else { return try nonFiniteStep(loss: loss, gradientNorm: nil) }
        afterBackward?(model.gradients, step + 1)
        let norm = AdamW.clipGradients(model.gradients, maxNorm: config.gradientClip)
        guard norm.isFinite else { return try nonFiniteStep(loss: loss, gradientNorm: norm) }
        consecutiveSkips = 0
        let rate = schedule.rate(at: step)
        step += 1
        optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: rate, step: step)
        return (loss, rate, norm)
    }

    /// Mean loss over `config.evalBatches` random validation batches. The batches depend only on the
    /// seed and the step, so evaluating never changes the training data order.
    public func estimateValidationLoss() throws -> Float {
        var evalGenerator = SeededGenerator(seed: config.seed &+ 0x5EED &* UInt64(step + 1))
        let t = model.config.contextLength
        let replicas = try replicaSet()
        var total: Float = 0
        for _ in 0..<config.evalBatches {
            let batch = try TrainingData.randomBatch(from: data.validation, batch: config.batchSize, time: t, generator: &evalGenerator)
            total += try processes.sum(shardedLoss(batch, batch: config.batchSize, replicas: replicas, backwardScale: nil))
        }
        return total / Float(config.evalBatches)
    }

    /// Data parallelism inside one process: this process's rows of the batch are split over the replicas,
    /// one thread each (see `ComputeThreads.shards`). Returns this process's part of the batch-mean loss;
    /// with `backwardScale` each replica accumulates gradients of backwardScale * (its part of that loss).
    private func shardedLoss(_ batch: (inputs: [Int32], targets: [Int32]), batch b: Int, replicas: [any LanguageModel],
                             backwardScale: Float?) throws -> Float {
        let t = model.config.contextLength
        let mine = processes.share(of: b)
        let shardLosses = FloatBuffer(count: replicas.count)
        try ComputeThreads.shards(replicas.count) { shard in
            let rows = (mine.lowerBound + mine.count * shard / replicas.count)..<(mine.lowerBound + mine.count * (shard + 1) / replicas.count)
            let span = (rows.lowerBound * t)..<(rows.upperBound * t)
            let replica = replicas[shard]
            let loss = try replica.forward(tokens: Array(batch.inputs[span]), targets: Array(batch.targets[span]),
                                           batch: rows.count, time: t)!
            let share = Float(rows.count) / Float(b)
            shardLosses[shard] = loss * share
            if let backwardScale { replica.backward(scale: backwardScale * share) }
        }
        return VectorMath.sum(shardLosses.pointer, replicas.count)
    }

    /// The model plus one replica per extra thread, sharing its parameter buffer.
    private func replicaSet() throws -> [any LanguageModel] {
        let wanted = max(1, min(ComputeThreads.count, processes.share(of: config.batchSize).count))
        if extraReplicas.count != wanted - 1 {
            extraReplicas = try (1..<wanted).map { _ in try model.replica() }
        }
        return [model] + extraReplicas
    }

    /// Trains until `config.steps` (or `stopAt`, if earlier), evaluating, logging and checkpointing.
    /// `shouldStop` is asked after every step (e.g. whether SIGINT arrived); when it says yes, a
    /// checkpoint is saved and the run returns `.interrupted`.
    @discardableResult
    public func run(stopAt: Int? = nil, shouldStop: () -> Bool = { false }, report: (StepReport) -> Void) throws -> RunOutcome {
        let end = min(stopAt ?? config.steps, config.steps)
        let clock = ContinuousClock()
        var recentMilliseconds: [Double] = []
        while step < end {
            let started = clock.now
            let (loss, rate, norm) = try trainStep()
            let elapsed = clock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            recentMilliseconds.append(milliseconds)
            if recentMilliseconds.count > 20 { recentMilliseconds.removeFirst() }
            let typical = recentMilliseconds.sorted()[recentMilliseconds.count / 2]
            let evaluate = step % config.evalEvery == 0 || step == config.steps
            let validation = evaluate ? try estimateValidationLoss() : nil
            let tokensPerSecond = Double(tokensPerStep) / (milliseconds / 1000)
            let line = StepReport(step: step, totalSteps: config.steps, trainLoss: loss, validationLoss: validation,
                                  learningRate: rate, gradientNorm: norm, tokensPerSecond: tokensPerSecond,
                                  millisecondsPerStep: milliseconds,
                                  etaSeconds: typical / 1000 * Double(config.steps - step),
                                  mfu: peakFLOPS.map { tokensPerSecond * model.config.trainingFLOPsPerToken / $0 },
                                  skipped: lastSkipReason)
            if processes.isRoot {
                try appendMetrics(line)
                report(line)
            }
            if evaluate || (config.saveEvery > 0 && step % config.saveEvery == 0) || step == end {
                try saveCheckpoint()
            }
            if step < end, try processes.any(shouldStop()) {
                try saveCheckpoint()
                return .interrupted(step: step)
            }
        }
        return .finished(step: step)
    }

    /// Writes weights, config, tokenizer and optimizer state as one new checkpoint of the run directory,
    /// which becomes current only once complete (see `Checkpoints`). Saving the current step again does nothing.
    /// Only process 0 writes; the others hold the same state.
    public func saveCheckpoint() throws {
        defer { savedStep = step }
        guard processes.isRoot else { return }
        let stepText = String(step)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata: [String: String] = [
            "format": Trainer.stateFormat, "version": "1", "step": stepText,
            "rng": generator.state.map(String.init).joined(separator: ","),
            "train_config": String(decoding: try encoder.encode(config), as: UTF8.self),
            "data": dataFingerprint,
        ]
        try ModelDirectory.createDirectory(runDirectory)
        try Checkpoints.commit(runDirectory: runDirectory, step: step) { directory in
            try Safetensors.write([NamedTensor(name: "adam.m", shape: [optimizer.m.count], values: optimizer.m.array),
                                   NamedTensor(name: "adam.v", shape: [optimizer.v.count], values: optimizer.v.array)],
                                  metadata: metadata, to: directory + "/" + Trainer.stateFile)
            try ModelDirectory.save(model: model, tokenizer: tokenizer, to: directory, metadata: ["step": stepText])
        }
    }

    private func appendMetrics(_ line: StepReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A skipped step's loss may be NaN, which plain JSON cannot hold.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try encoder.encode(line)
        data.append(0x0A)
        let path = runDirectory + "/" + Trainer.metricsFile
        try ModelDirectory.createDirectory(runDirectory)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CoreError.writeFailed(path: path, reason: "cannot open for appending")
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        } catch {
            throw CoreError.writeFailed(path: path, reason: "\(error.localizedDescription)")
        }
    }
}
