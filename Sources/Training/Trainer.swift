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

/// Runs AdamW training of a GPT on a token stream, writing checkpoints and a metrics log to a run
/// directory. A run can be resumed from its directory and then produces exactly the losses of an
/// uninterrupted run (same seed and thread count), because the data generator's state is saved too.
public final class Trainer {
    public static let stateFile = "training_state.safetensors"
    public static let metricsFile = "metrics.jsonl"
    public static let stateFormat = "minigpt-training-state"

    public let model: GPT
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
    private let dataFingerprint: String
    private var extraReplicas: [GPT] = []

    /// Starts a fresh run: initialises the model from the seed.
    public convenience init(modelConfig: ModelConfig, tokenizer: any Tokenizer, data: TrainingData,
                            config: TrainConfig, runDirectory: String) throws {
        try config.validate()
        var generator = SeededGenerator(seed: config.seed)
        let model = try GPT(config: modelConfig, generator: &generator)
        try self.init(model: model, tokenizer: tokenizer, data: data, config: config, runDirectory: runDirectory,
                      step: 0, generator: generator, optimizer: AdamW(layout: model.layout, settings: config.adamW))
        // A run killed before its first checkpoint may have logged steps; this run starts the log again.
        try truncateMetrics(after: 0)
    }

    /// Starts a fresh run from existing weights (fine-tuning, e.g. an imported model); the seed still
    /// decides the batches.
    public convenience init(model: GPT, tokenizer: any Tokenizer, data: TrainingData, config: TrainConfig,
                            runDirectory: String) throws {
        try config.validate()
        try self.init(model: model, tokenizer: tokenizer, data: data, config: config, runDirectory: runDirectory,
                      step: 0, generator: SeededGenerator(seed: config.seed), optimizer: AdamW(layout: model.layout, settings: config.adamW))
        try truncateMetrics(after: 0)
    }

    private init(model: GPT, tokenizer: any Tokenizer, data: TrainingData, config: TrainConfig, runDirectory: String,
                 step: Int, generator: SeededGenerator, optimizer: AdamW) throws {
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw TrainingError.invalidConfig("tokenizer has \(tokenizer.vocabularySize) tokens, model expects \(model.config.vocabularySize)")
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
        dataFingerprint = Trainer.fingerprint(data)
    }

    /// Resumes the run saved in `runDirectory`; `data` must be the same token stream it was trained on.
    /// The run's current checkpoint is used (see `Checkpoints`); metrics logged after it are dropped.
    public static func resume(runDirectory: String, data: TrainingData) throws -> Trainer {
        let checkpoint = try Checkpoints.resolve(runDirectory)
        let (model, tokenizer) = try ModelDirectory.load(checkpoint)
        let statePath = checkpoint + "/" + stateFile
        let (tensors, metadata) = try Safetensors.read(statePath)
        func bad(_ reason: String) -> TrainingError { .badRunDirectory(path: runDirectory, reason: reason) }
        guard metadata["format"] == stateFormat else { throw bad("\(stateFile) is not a MiniGPT training state") }
        guard let stepText = metadata["step"], let step = Int(stepText),
              let configText = metadata["train_config"],
              let config = try? JSONDecoder().decode(TrainConfig.self, from: Data(configText.utf8)),
              let rngText = metadata["rng"] else {
            throw bad("\(stateFile) lacks step, train_config or rng")
        }
        do { try config.validate() } catch { throw bad("\(stateFile) holds invalid settings: \(error)") }
        guard step >= 0 else { throw bad("\(stateFile) says step \(step)") }
        let words = rngText.split(separator: ",").compactMap { UInt64($0) }
        let generator = try SeededGenerator(state: words)
        let (_, weightsMetadata) = try ModelDirectory.loadWeights(checkpoint + "/" + ModelDirectory.weightsFile, config: model.config)
        guard weightsMetadata["step"] == stepText else {
            throw bad("the weights are from step \(weightsMetadata["step"] ?? "?") but the optimizer state is from step \(stepText)")
        }
        guard metadata["data"] == fingerprint(data) else {
            throw bad("the corpus differs from the one this run was trained on")
        }
        let optimizer = AdamW(layout: model.layout, settings: config.adamW)
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
                                  step: step, generator: generator, optimizer: optimizer)
        trainer.savedStep = step
        try trainer.truncateMetrics(after: step)
        return trainer
    }

    public var tokensPerStep: Int { config.batchSize * config.gradientAccumulation * model.config.contextLength }

    /// One optimizer step over `gradientAccumulation` micro-batches; returns the mean training loss.
    /// A non-finite loss or gradient makes no update: it throws (`.stop`) or counts the step as skipped (`.skip`).
    public func trainStep() throws -> (loss: Float, learningRate: Float, gradientNorm: Float) {
        lastSkipReason = nil
        let t = model.config.contextLength, b = config.batchSize, accumulation = config.gradientAccumulation
        let replicas = try replicaSet()
        for replica in replicas { replica.zeroGradients() }
        var lossSum: Float = 0
        for _ in 0..<accumulation {
            let batch = TrainingData.randomBatch(from: data.train, batch: b, time: t, generator: &generator)
            let loss = try shardedLoss(batch, batch: b, replicas: replicas, backwardScale: 1 / Float(accumulation))
            guard loss.isFinite else { return try nonFiniteStep(loss: loss, gradientNorm: nil) }
            lossSum += loss
        }
        let total = model.gradients.pointer
        ComputeThreads.parallelRanges(model.gradients.count, worthSplitting: replicas.count > 1 && model.gradients.count >= 1 << 20) { range in
            for replica in replicas.dropFirst() {
                VectorMath.add(replica.gradients.pointer + range.lowerBound, into: total + range.lowerBound, range.count)
            }
        }
        afterBackward?(model.gradients, step + 1)
        let norm = AdamW.clipGradients(model.gradients, maxNorm: config.gradientClip)
        guard norm.isFinite else { return try nonFiniteStep(loss: lossSum / Float(accumulation), gradientNorm: norm) }
        consecutiveSkips = 0
        let rate = schedule.rate(at: step)
        step += 1
        optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: rate, step: step)
        return (lossSum / Float(accumulation), rate, norm)
    }

    /// Mean loss over `config.evalBatches` random validation batches. The batches depend only on the
    /// seed and the step, so evaluating never changes the training data order.
    public func estimateValidationLoss() throws -> Float {
        var evalGenerator = SeededGenerator(seed: config.seed &+ 0x5EED &* UInt64(step + 1))
        let t = model.config.contextLength
        let replicas = try replicaSet()
        var total: Float = 0
        for _ in 0..<config.evalBatches {
            let batch = TrainingData.randomBatch(from: data.validation, batch: config.batchSize, time: t, generator: &evalGenerator)
            total += try shardedLoss(batch, batch: config.batchSize, replicas: replicas, backwardScale: nil)
        }
        return total / Float(config.evalBatches)
    }

    /// Data parallelism inside one step: the batch's rows are split over the replicas, one thread each
    /// (see `ComputeThreads.shards`). Returns the mean loss over the whole batch; with `backwardScale`
    /// each replica accumulates gradients of backwardScale * (its share of the batch-mean loss).
    private func shardedLoss(_ batch: (inputs: [Int32], targets: [Int32]), batch b: Int, replicas: [GPT],
                             backwardScale: Float?) throws -> Float {
        let t = model.config.contextLength
        let shardLosses = FloatBuffer(count: replicas.count)
        try ComputeThreads.shards(replicas.count) { shard in
            let rows = (b * shard / replicas.count)..<(b * (shard + 1) / replicas.count)
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
    private func replicaSet() throws -> [GPT] {
        let wanted = max(1, min(ComputeThreads.count, config.batchSize))
        if extraReplicas.count != wanted - 1 {
            extraReplicas = try (1..<wanted).map { _ in try GPT(config: model.config, parameters: model.parameters) }
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
            try appendMetrics(line)
            report(line)
            if evaluate || (config.saveEvery > 0 && step % config.saveEvery == 0) || step == end {
                try saveCheckpoint()
            }
            if step < end, shouldStop() {
                try saveCheckpoint()
                return .interrupted(step: step)
            }
        }
        return .finished(step: step)
    }

    /// Writes weights, config, tokenizer and optimizer state as one new checkpoint of the run directory,
    /// which becomes current only once complete (see `Checkpoints`). Saving the current step again does nothing.
    public func saveCheckpoint() throws {
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
        savedStep = step
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
        handle.seekToEndOfFile()
        handle.write(data)
    }

    /// Token count plus an FNV-1a hash of the tokens: enough to notice a different corpus on resume.
    static func fingerprint(_ data: TrainingData) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for token in data.train + data.validation {
            hash = (hash ^ UInt64(UInt32(bitPattern: token))) &* 0x0000_0100_0000_01B3
        }
        return "\(data.train.count)+\(data.validation.count):\(String(hash, radix: 16))"
    }
}
