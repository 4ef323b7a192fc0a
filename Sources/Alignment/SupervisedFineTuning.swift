import Core
import Foundation
import Model
import Tokenizers
import Training

/// Settings of supervised fine-tuning; the defaults are the pipeline's.
public struct SFTConfig: Codable, Equatable, Sendable {
    public var batchSize = 16
    /// Upper bound on optimizer steps; training usually stops earlier at the validation plateau.
    public var maxSteps = 4000
    public var learningRate: Float = 3e-4
    public var warmupSteps = 30
    public var weightDecay: Float = 0.0
    public var gradientClip: Float = 1.0
    public var evalEvery = 50
    /// Stop after this many evaluations without a new best validation loss; the best weights are kept.
    public var patience = 5
    /// Share of each batch's rows that are windows of the pretraining text, trained on every token (rounded, at
    /// most batch - 1): rehearsing it keeps the facts the base model learnt there. 0 turns it off.
    public var pretrainingShare = 0.5
    public var seed: UInt64 = 1337

    public init() {}

    public func validate() throws {
        try stopping.validate("SFT")
        guard batchSize >= 1 else { throw AlignmentError.invalidArgument("SFT batch must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw AlignmentError.invalidArgument("SFT learning rate must be positive, got \(learningRate)") }
        guard (0..<1).contains(pretrainingShare) else {
            throw AlignmentError.invalidArgument("SFT pretraining share must be in [0, 1), got \(pretrainingShare)")
        }
    }

    /// Rows of each batch taken from the pretraining text (at least one row is left to demonstrations).
    public var pretrainingRowsPerBatch: Int { min(Int((Double(batchSize) * pretrainingShare).rounded()), batchSize - 1) }

    var stopping: StoppingRule { StoppingRule(maxSteps: maxSteps, evalEvery: evalEvery, patience: patience) }
    var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, minimum: learningRate / 10, warmupSteps: warmupSteps, totalSteps: maxSteps)
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
/// position weights), in the shared fine-tuning loop. With a pretraining share, part of every batch is windows
/// of the pretraining text, and the gradient is that of the mean loss over every trained token of the batch;
/// the loss a step reports is the demonstrations' alone, comparable to the validation loss.
public final class SupervisedFineTuner {
    public let model: GPT
    public let config: SFTConfig
    public let train: [SFTExample]
    public let validation: [SFTExample]
    /// Windows of the pretraining text rehearsed alongside the demonstrations (empty when the share is 0).
    public let pretraining: [SFTExample]
    let pad: Int32
    private let tensors: TrainedTensors
    private var generator: SeededGenerator

    /// `pretrainingTokens`: the encoded pretraining text, needed when `config.pretrainingShare` > 0.
    public init(model: GPT, encoder: ChatEncoder, train: [Demonstration], validation: [Demonstration],
                pretrainingTokens: [Int32] = [], config: SFTConfig) throws {
        try config.validate()
        guard !train.isEmpty else { throw AlignmentError.emptyDataset("the SFT training set") }
        guard !validation.isEmpty else { throw AlignmentError.emptyDataset("the SFT validation set") }
        try encoder.checkVocabulary(of: model)
        if config.pretrainingRowsPerBatch > 0 {
            pretraining = Self.windows(of: pretrainingTokens, contextLength: model.config.contextLength)
            guard !pretraining.isEmpty else {
                throw AlignmentError.invalidArgument("SFT rehearses the pretraining text (share \(config.pretrainingShare)) but it has \(pretrainingTokens.count) tokens, fewer than one window of \(model.config.contextLength + 1)")
            }
        } else {
            pretraining = []
        }
        self.model = model
        self.config = config
        self.train = try train.map { try encoder.sftExample($0) }
        self.validation = try validation.map { try encoder.sftExample($0) }
        for example in self.train + self.validation {
            try encoder.checkFits(example.inputs.count, contextLength: model.config.contextLength, what: "a demonstration")
        }
        pad = Int32(encoder.template.endOfTextID)
        tensors = TrainedTensors(model: model, settings: AdamWSettings(weightDecay: config.weightDecay))
        generator = SeededGenerator(seed: config.seed)
    }

    /// The token stream cut into consecutive, non-overlapping windows of T + 1 tokens (the remainder is
    /// dropped); each is an example of T inputs whose every next token is trained.
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
            let batch = padded(Array(examples[start..<min(start + config.batchSize, examples.count)]))
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
    /// the masked loss of the demonstrations' rows.
    public func step(_ index: Int) throws -> Float {
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
        tensors.zeroGradients()
        model.backward(positionWeights: batch.weights.map { $0 / max(trained, 1) })
        tensors.step(learningRate: config.schedule.rate(at: index), clip: config.gradientClip)
        return loss
    }

    /// Trains to the validation plateau (or `maxSteps`), reporting each evaluation; restores the best weights.
    public func run(report: (SFTCurvePoint) -> Void = { _ in }) throws -> SFTResult {
        let run = try FineTuningLoop.run(
            config.stopping, weights: tensors.parameters, step: { Double(try step($0)) },
            evaluate: { SFTCurvePoint(step: $0, trainLoss: $1.map(Float.init), validationLoss: try loss(on: validation)) },
            validationLoss: \.validationLoss, report: report)
        return SFTResult(curve: run.curve, bestStep: run.best.step, bestValidationLoss: run.best.validationLoss,
                         stoppedAtPlateau: run.stoppedAtPlateau)
    }
}
