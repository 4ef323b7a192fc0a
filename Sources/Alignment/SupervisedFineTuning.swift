import Core
import Foundation
import Model
import Tokenizers
import Training

/// Settings of supervised fine-tuning; defaults in one place.
public struct SFTConfig: Codable, Equatable, Sendable {
    public var batchSize = 16
    /// Upper bound on optimizer steps; training usually stops earlier at the validation plateau.
    public var maxSteps = 1500
    public var learningRate: Float = 1e-3
    public var warmupSteps = 30
    public var weightDecay: Float = 0.0
    public var gradientClip: Float = 1.0
    public var evalEvery = 50
    /// Stop after this many evaluations without a new best validation loss; the best weights are kept.
    public var patience = 5
    public var seed: UInt64 = 1337

    public init() {}

    public func validate() throws {
        for (name, value) in [("batch", batchSize), ("max steps", maxSteps), ("eval every", evalEvery), ("patience", patience)] where value < 1 {
            throw AlignmentError.invalidArgument("SFT \(name) must be at least 1, got \(value)")
        }
        guard learningRate > 0, learningRate.isFinite else { throw AlignmentError.invalidArgument("SFT learning rate must be positive") }
    }

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
/// evaluations without improvement, and the best weights restored at the end.
public final class SupervisedFineTuner {
    public let model: GPT
    public let config: SFTConfig
    public let train: [SFTExample]
    public let validation: [SFTExample]
    let pad: Int32
    private let optimizer: AdamW
    private var generator: SeededGenerator

    public init(model: GPT, encoder: ChatEncoder, train: [Demonstration], validation: [Demonstration], config: SFTConfig) throws {
        try config.validate()
        guard !train.isEmpty else { throw AlignmentError.emptyDataset("the SFT training set") }
        guard !validation.isEmpty else { throw AlignmentError.emptyDataset("the SFT validation set") }
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

    /// One optimizer step on a random batch; returns the masked training loss.
    public func step(_ index: Int, schedule: LearningRateSchedule) throws -> Float {
        let chunk = (0..<config.batchSize).map { _ in train[generator.nextInt(below: train.count)] }
        let batch = padded(chunk)
        try model.forward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch, time: batch.time)
        let trained = batch.weights.reduce(0, +)
        let loss = zip(model.lastLosses, batch.weights).reduce(Float(0)) { $0 + $1.0 * $1.1 } / max(trained, 1)
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
