import Core
import Foundation
import Model
import Tokenizers
import Training

/// Settings of reward-model training; the defaults are the pipeline's.
public struct RewardConfig: Codable, Equatable, Sendable {
    /// Preference pairs per step (each step runs 2x this many sequences).
    public var batchSize = 16
    public var maxSteps = 600
    public var learningRate: Float = 1e-4
    /// The head starts at zero and has few parameters; it learns faster than the backbone.
    public var headLearningRate: Float = 3e-3
    public var warmupSteps = 20
    public var weightDecay: Float = 0.0
    public var gradientClip: Float = 1.0
    public var evalEvery = 100
    public var patience = 6
    public var seed: UInt64 = 1337
    /// Probability that a batch's pair comes from the labelled pairs of sampled answers when there are any
    /// (else from the written pairs): drawn in proportion to their numbers, the written pairs' rarer
    /// comparisons would be drowned out.
    public var sampledPairShare = 0.3

    public init() {}

    public func validate() throws {
        try stopping.validate("reward")
        guard batchSize >= 1 else { throw AlignmentError.invalidArgument("reward batch must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite, headLearningRate > 0, headLearningRate.isFinite else {
            throw AlignmentError.invalidArgument("reward learning rates must be positive, got \(learningRate) and \(headLearningRate)")
        }
        guard (0...1).contains(sampledPairShare) else {
            throw AlignmentError.invalidArgument("the reward model's sampled-pair share must be in 0...1, got \(sampledPairShare)")
        }
    }

    var stopping: StoppingRule { StoppingRule(maxSteps: maxSteps, evalEvery: evalEvery, patience: patience) }
    var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: learningRate, minimum: learningRate / 10, warmupSteps: warmupSteps, totalSteps: maxSteps)
    }
}

/// Held-out quality of a reward model on preference pairs.
public struct PairwiseMetrics: Codable, Equatable, Sendable {
    /// Pairs scored.
    public var count: Int
    public var loss: Double
    /// Fraction of pairs with r(chosen) > r(rejected).
    public var accuracy: Double
    public var meanChosen: Double
    public var meanRejected: Double
    public var margin: Double { meanChosen - meanRejected }
    /// Accuracy per failure kind of the rejected answer.
    public var accuracyByFailure: [String: Double]
    /// Accuracy per family label.
    public var accuracyByFamily: [String: Double]

    enum CodingKeys: String, CodingKey {
        case count, loss, accuracy
        case meanChosen = "mean_chosen"
        case meanRejected = "mean_rejected"
        case accuracyByFailure = "accuracy_by_failure"
        case accuracyByFamily = "accuracy_by_family"
    }
}

extension PairwiseMetrics {
    /// The metrics of one score per chosen and per rejected answer of each pair (labelled by family and failure);
    /// the loss is the mean of -log sigmoid(chosen - rejected).
    init(chosen: [Double], rejected: [Double], families: [String], failures: [String]) {
        var loss = 0.0, correct = 0
        var byFailure: [String: (hits: Int, total: Int)] = [:]
        var byFamily: [String: (hits: Int, total: Int)] = [:]
        for i in chosen.indices {
            let margin = chosen[i] - rejected[i]
            loss += negativeLogSigmoid(margin)
            let hit = margin > 0 ? 1 : 0
            correct += hit
            byFailure[failures[i], default: (0, 0)].hits += hit
            byFailure[failures[i], default: (0, 0)].total += 1
            byFamily[families[i], default: (0, 0)].hits += hit
            byFamily[families[i], default: (0, 0)].total += 1
        }
        let n = Double(chosen.count)
        self.init(count: chosen.count, loss: loss / n, accuracy: Double(correct) / n,
                  meanChosen: chosen.reduce(0, +) / n, meanRejected: rejected.reduce(0, +) / n,
                  accuracyByFailure: byFailure.mapValues { Double($0.hits) / Double($0.total) },
                  accuracyByFamily: byFamily.mapValues { Double($0.hits) / Double($0.total) })
    }
}

public struct RewardCurvePoint: Codable, Equatable, Sendable {
    public var step: Int
    public var trainLoss: Float?
    public var validation: PairwiseMetrics

    enum CodingKeys: String, CodingKey {
        case step, validation
        case trainLoss = "train_loss"
    }
}

public struct RewardResult: Codable, Sendable {
    public var curve: [RewardCurvePoint]
    public var bestStep: Int
    /// The validation pairs at the kept step (they chose it, so this is optimistic).
    public var best: PairwiseMetrics
    /// The test pairs, scored once with the kept weights: the reward model's reported quality.
    public var test: PairwiseMetrics
    public var stoppedAtPlateau: Bool
}

/// Trains a reward model on preference pairs with the pairwise loss; keeps the weights with the best
/// validation loss (early stopping after `patience` evaluations without improvement), then scores the test
/// pairs once with them.
public final class RewardTrainer {
    struct EncodedPair {
        var chosen: [Int32]
        var rejected: [Int32]
        var failure: String
        var family: String
    }

    public let model: RewardModel
    public let config: RewardConfig
    /// Written pairs and the judged pairs of sampled answers, mixed per batch by `config.sampledPairShare`.
    let written: [EncodedPair]
    let sampled: [EncodedPair]
    let validation: [EncodedPair]
    let test: [EncodedPair]
    let pad: Int32
    private let tensors: TrainedTensors
    private var generator: SeededGenerator

    public init(model: RewardModel, encoder: ChatEncoder, written: [PreferencePair], sampled: [PreferencePair] = [],
                validation: [PreferencePair], test: [PreferencePair], config: RewardConfig) throws {
        try config.validate()
        guard !written.isEmpty else { throw AlignmentError.emptyDataset("the preference training set") }
        guard !validation.isEmpty else { throw AlignmentError.emptyDataset("the preference validation set") }
        guard !test.isEmpty else { throw AlignmentError.emptyDataset("the preference test set") }
        try encoder.checkVocabulary(of: model.backbone)
        func encode(_ pair: PreferencePair) throws -> EncodedPair {
            let chosen = try encoder.exchange(prompt: pair.chatPrompt, response: pair.chosen).map(Int32.init)
            let rejected = try encoder.exchange(prompt: pair.chatPrompt, response: pair.rejected).map(Int32.init)
            for sequence in [chosen, rejected] {
                try encoder.checkFits(sequence.count, contextLength: model.backbone.config.contextLength, what: "a preference-pair answer")
            }
            return EncodedPair(chosen: chosen, rejected: rejected, failure: pair.failure, family: pair.family)
        }
        self.model = model
        self.config = config
        self.written = try written.map(encode)
        self.sampled = try sampled.map(encode)
        self.validation = try validation.map(encode)
        self.test = try test.map(encode)
        pad = Int32(encoder.template.endOfTextID)
        let settings = AdamWSettings(weightDecay: config.weightDecay)
        tensors = TrainedTensors(model: model.backbone, settings: settings)
        tensors.addHead(parameters: model.head, gradients: model.headGradients, settings: settings,
                        rateScale: config.headLearningRate / config.learningRate)
        generator = SeededGenerator(seed: config.seed)
    }

    public func evaluate() throws -> PairwiseMetrics {
        try Self.evaluate(model: model, pairs: validation, batchSize: config.batchSize, pad: pad)
    }

    static func evaluate(model: RewardModel, pairs: [EncodedPair], batchSize: Int, pad: Int32) throws -> PairwiseMetrics {
        var chosen: [Double] = [], rejected: [Double] = []
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let chunk = pairs[start..<min(start + batchSize, pairs.count)]
            let result = try model.pairwiseLoss(chosen: chunk.map(\.chosen), rejected: chunk.map(\.rejected), pad: pad, backward: false)
            chosen += result.chosen.map(Double.init)
            rejected += result.rejected.map(Double.init)
        }
        return PairwiseMetrics(chosen: chosen, rejected: rejected, families: pairs.map(\.family), failures: pairs.map(\.failure))
    }

    /// One optimizer step on a random batch of pairs; returns the training loss.
    public func step(_ index: Int) throws -> Float {
        let chunk = (0..<config.batchSize).map { _ in
            let pool = !sampled.isEmpty && generator.nextDouble() < config.sampledPairShare ? sampled : written
            return pool[generator.nextInt(below: pool.count)]
        }
        tensors.zeroGradients()
        let result = try model.pairwiseLoss(chosen: chunk.map(\.chosen), rejected: chunk.map(\.rejected), pad: pad, backward: true)
        tensors.step(learningRate: config.schedule.rate(at: index), clip: config.gradientClip)
        return result.loss
    }

    /// Trains to the validation plateau (or `maxSteps`), keeps the best weights, then scores the test pairs once.
    public func run(report: (RewardCurvePoint) -> Void = { _ in }) throws -> RewardResult {
        let run = try FineTuningLoop.run(
            config.stopping, weights: tensors.parameters, step: { Double(try step($0)) },
            evaluate: { RewardCurvePoint(step: $0, trainLoss: $1.map(Float.init), validation: try evaluate()) },
            validationLoss: \.validation.loss, report: report)
        let testMetrics = try Self.evaluate(model: model, pairs: test, batchSize: config.batchSize, pad: pad)
        return RewardResult(curve: run.curve, bestStep: run.best.step, best: run.best.validation, test: testMetrics,
                            stoppedAtPlateau: run.stoppedAtPlateau)
    }
}
