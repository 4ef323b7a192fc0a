import Core
import Foundation
import Model
import Tokenizers
import Training

/// Settings of supervised fine-tuning; defaults in one place.
public struct SFTConfig: Codable, Equatable, Sendable {
    public var batchSize = 16
    /// Upper bound on optimizer steps; training usually stops earlier at the validation plateau.
    public var maxSteps = 4000
    public var learningRate: Float = 1e-3
    public var warmupSteps = 30
    public var weightDecay: Float = 0.0
    public var gradientClip: Float = 1.0
    public var evalEvery = 50
    /// Stop after this many evaluations without a new best validation loss; the best weights are kept.
    public var patience = 5
    /// Share of each batch's rows that are windows of the pretraining text (trained on every token) rather
    /// than demonstrations, rounded and at most batch - 1 (so a batch of 1 never rehearses): rehearsing the
    /// pretraining text keeps the facts the base model learnt there (from the same base, SFT capped at 1500
    /// steps answered 10 of 20 held-out capitals without it and 19 with it; see docs/alignment.md). 0 turns
    /// it off.
    public var pretrainingShare = 0.5
    public var seed: UInt64 = 1337

    public init() {}

    public func validate() throws {
        for (name, value) in [("batch", batchSize), ("max steps", maxSteps), ("eval every", evalEvery), ("patience", patience)] where value < 1 {
            throw AlignmentError.invalidArgument("SFT \(name) must be at least 1, got \(value)")
        }
        guard learningRate > 0, learningRate.isFinite else { throw AlignmentError.invalidArgument("SFT learning rate must be positive") }
        guard (0..<1).contains(pretrainingShare) else {
            throw AlignmentError.invalidArgument("SFT pretraining share must be in [0, 1), got \(pretrainingShare)")
        }
    }

    /// Rows of each batch taken from the pretraining text (at least one row is left to demonstrations).
    public var pretrainingRowsPerBatch: Int { min(Int((Double(batchSize) * pretrainingShare).rounded()), batchSize - 1) }

    var trainConfig: TrainConfig {
        TrainConfig(batchSize: batchSize, steps: maxSteps, learningRate: learningRate, warmupSteps: warmupSteps,
                    weightDecay: weightDecay, gradientClip: gradientClip, seed: seed)
    }
}

/// One evaluation of the validation curve.
public struct SFTCurvePoint: Codable, Equatable, Sendable {
    public var step: Int
    /// Mean training loss since the previous evaluation (nil before the first step).
    public var trainLoss: Float?
    public var validationLoss: Double

    enum CodingKeys: String, CodingKey {
        case step
        case trainLoss = "train_loss"
        case validationLoss = "val_loss"
    }
}

public struct SFTResult: Codable, Sendable {
    public var curve: [SFTCurvePoint]
    public var bestStep: Int
    public var bestValidationLoss: Double
    /// True when training stopped because the validation loss stopped improving.
    public var stoppedAtPlateau: Bool
}

/// Supervised fine-tuning: next-token loss on response tokens only (the prompt is masked with zero
/// position weights), AdamW, validation loss every `evalEvery` steps, early stopping after `patience`
/// evaluations without improvement, and the best weights restored at the end. With a pretraining share,
/// part of every batch is windows of the pretraining text, and the gradient is that of the mean loss over
/// every trained token of the batch (response tokens and pretraining tokens alike); the loss a step
/// reports is the demonstrations' alone.
public final class SupervisedFineTuner {
    public let model: GPT
    public let config: SFTConfig
    public let train: [SFTExample]
    public let validation: [SFTExample]
    /// Windows of the pretraining text rehearsed alongside the demonstrations (empty when the share is 0).
    public let pretraining: [SFTExample]
    let pad: Int32
    private let optimizer: AdamW
    private var generator: SeededGenerator

    /// `pretrainingTokens`: the encoded pretraining text, needed when `config.pretrainingShare` > 0.
    public init(model: GPT, encoder: ChatEncoder, train: [Demonstration], validation: [Demonstration],
                pretrainingTokens: [Int32] = [], config: SFTConfig) throws {
        try config.validate()
        guard !train.isEmpty else { throw AlignmentError.emptyDataset("the SFT training set") }
        guard !validation.isEmpty else { throw AlignmentError.emptyDataset("the SFT validation set") }
        if config.pretrainingRowsPerBatch > 0 {
            pretraining = Self.windows(of: pretrainingTokens, contextLength: model.config.contextLength)
            guard !pretraining.isEmpty else {
                throw AlignmentError.invalidArgument("SFT rehearses the pretraining text (share \(config.pretrainingShare)) but it has \(pretrainingTokens.count) tokens, fewer than one window of \(model.config.contextLength + 1); give a longer text or a share of 0")
            }
        } else {
            pretraining = []
        }
        guard encoder.tokenizer.vocabularySize == model.config.vocabularySize else {
            throw AlignmentError.mismatch("the tokenizer has \(encoder.tokenizer.vocabularySize) tokens but the model's vocabulary is \(model.config.vocabularySize)")
        }
        self.model = model
        self.config = config
        self.train = try train.map { try encoder.sftExample($0) }
        self.validation = try validation.map { try encoder.sftExample($0) }
        for example in self.train + self.validation {
            try encoder.checkFits(example.inputs.count, contextLength: model.config.contextLength, what: "a demonstration")
        }
        pad = Int32(encoder.template.endOfTextID)
        optimizer = AdamW(layout: model.layout)
        generator = SeededGenerator(seed: config.seed)
    }

    /// The encoded `pretrain.txt` of the instruction data directory `data` when `config` rehearses it,
    /// else nothing (the file is then not read).
    public static func pretrainingTokens(data: String, tokenizer: any Tokenizer, config: SFTConfig) throws -> [Int32] {
        guard config.pretrainingRowsPerBatch > 0 else { return [] }
        let path = data + "/" + InstructFiles.pretrainText
        guard FileManager.default.fileExists(atPath: path) else {
            throw AlignmentError.invalidArgument("\(path) does not exist: SFT rehearses the pretraining text (--pretraining-share 0 turns that off)")
        }
        return try tokenizer.encode(TextFile.read(path)).map(Int32.init)
    }

    /// The token stream cut into consecutive, non-overlapping windows of T + 1 tokens (the remainder is
    /// dropped); each is an example of T inputs whose every next token is trained. The step from one
    /// window's last token to the next window's first is not among them (1 in T + 1).
    public static func windows(of tokens: [Int32], contextLength: Int) -> [SFTExample] {
        let span = contextLength + 1
        return stride(from: 0, to: tokens.count - span + 1, by: span).map { start in
            SFTExample(inputs: Array(tokens[start..<start + contextLength]), targets: Array(tokens[start + 1..<start + span]),
                       weights: [Float](repeating: 1, count: contextLength))
        }
    }

    /// Mean loss over the trained (response) positions of `examples`, in batches.
    public func loss(on examples: [SFTExample]) throws -> Double {
        var nats = 0.0, count = 0.0
        for start in stride(from: 0, to: examples.count, by: config.batchSize) {
            let chunk = Array(examples[start..<min(start + config.batchSize, examples.count)])
            let batch = padded(chunk)
            try model.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch, time: batch.time)
            for (loss, weight) in zip(model.lastLosses, batch.weights) where weight > 0 {
                nats += Double(loss * weight)
                count += Double(weight)
            }
        }
        return nats / max(count, 1)
    }

    func padded(_ examples: [SFTExample]) -> PaddedBatch {
        PaddedBatch(inputs: examples.map(\.inputs), targets: examples.map(\.targets), weights: examples.map(\.weights), pad: pad)
    }

    /// One optimizer step on a random batch (demonstrations first, then the pretraining windows); returns
    /// the masked loss of the demonstrations' rows, comparable to the validation loss.
    public func step(_ index: Int, schedule: LearningRateSchedule) throws -> Float {
        let rehearsed = config.pretrainingRowsPerBatch
        let demonstrations = (0..<config.batchSize - rehearsed).map { _ in train[generator.nextInt(below: train.count)] }
        let chunk = demonstrations + (0..<rehearsed).map { _ in pretraining[generator.nextInt(below: pretraining.count)] }
        let batch = padded(chunk)
        try model.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch, time: batch.time)
        let trained = batch.weights.reduce(0, +)
        let demonstrationPositions = demonstrations.count * batch.time
        let demonstrationWeights = batch.weights[..<demonstrationPositions]
        let loss = zip(model.lastLosses[..<demonstrationPositions], demonstrationWeights).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            / max(demonstrationWeights.reduce(0, +), 1)
        model.zeroGradients()
        model.backward(positionWeights: batch.weights.map { $0 / max(trained, 1) })
        if config.gradientClip > 0 { _ = AdamW.clipGradients(model.gradients, maxNorm: config.gradientClip) }
        optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: schedule.rate(at: index),
                         step: index + 1, config: config.trainConfig)
        return loss
    }

    /// Trains to the validation plateau (or `maxSteps`), reporting each evaluation; restores the best weights.
    public func run(report: (SFTCurvePoint) -> Void = { _ in }) throws -> SFTResult {
        let schedule = LearningRateSchedule(config: config.trainConfig)
        let initial = SFTCurvePoint(step: 0, trainLoss: nil, validationLoss: try loss(on: validation))
        report(initial)
        var curve = [initial]
        var best = initial
        let bestParameters = FloatBuffer(count: model.parameters.count)
        bestParameters.copy(from: model.parameters)
        var sinceBest = 0, recentLoss: Float = 0, recentCount = 0
        var plateau = false
        for index in 0..<config.maxSteps {
            recentLoss += try step(index, schedule: schedule)
            recentCount += 1
            guard (index + 1) % config.evalEvery == 0 || index + 1 == config.maxSteps else { continue }
            let point = SFTCurvePoint(step: index + 1, trainLoss: recentLoss / Float(recentCount), validationLoss: try loss(on: validation))
            recentLoss = 0
            recentCount = 0
            curve.append(point)
            report(point)
            if point.validationLoss < best.validationLoss {
                best = point
                bestParameters.copy(from: model.parameters)
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= config.patience {
                    plateau = true
                    break
                }
            }
        }
        model.parameters.copy(from: bestParameters)
        return SFTResult(curve: curve, bestStep: best.step, bestValidationLoss: best.validationLoss, stoppedAtPlateau: plateau)
    }
}
