import Core
import Foundation
import Model
import Training

/// Settings of DPO; the defaults are the pipeline's.
public struct DPOConfig: Codable, Equatable, Sendable {
    /// Strength of the implicit KL constraint: the implied reward is beta x (log pi - log pi_ref).
    public var beta = 0.1
    /// Upper bound on optimizer steps (constant learning rate).
    public var steps = 300
    /// Preference pairs per step.
    public var batchSize = 16
    public var learningRate: Float = 1e-5
    public var gradientClip: Float = 1.0
    public var evalEvery = 50
    /// Stop after this many evaluations without a lower held-out loss; the best weights are kept.
    public var patience = 3
    public var seed: UInt64 = 1337

    public init() {}

    public func validate() throws {
        try stopping.validate("DPO")
        guard beta > 0, beta.isFinite else { throw AlignmentError.invalidArgument("DPO beta must be positive, got \(beta)") }
        guard batchSize >= 1 else { throw AlignmentError.invalidArgument("DPO batch must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw AlignmentError.invalidArgument("DPO learning rate must be positive, got \(learningRate)") }
    }

    var stopping: StoppingRule { StoppingRule(maxSteps: steps, evalEvery: evalEvery, patience: patience) }
}

public struct DPOCurvePoint: Codable, Equatable, Sendable {
    public var step: Int
    public var trainLoss: Double?
    /// Mean DPO loss on the held-out pairs.
    public var validationLoss: Double
    /// Fraction of held-out pairs whose implied reward ranks chosen above rejected.
    public var validationAccuracy: Double

    enum CodingKeys: String, CodingKey {
        case step
        case trainLoss = "train_loss"
        case validationLoss = "val_loss"
        case validationAccuracy = "val_accuracy"
    }
}

/// Direct preference optimisation (Rafailov et al.) on the same preference pairs as the reward model:
/// loss -log sigmoid(beta [(log pi(c) - log pi_ref(c)) - (log pi(r) - log pi_ref(r))]), with sequence
/// log-probabilities summed over the reply and its `<|end|>`; no reward model, no sampling.
public final class DPOTrainer {
    struct EncodedPair {
        var prompt: [Int]
        var chosen: [Int]
        var rejected: [Int]
        /// log pi_ref of chosen and rejected, fixed.
        var referenceChosen: Double
        var referenceRejected: Double
    }

    public let policy: GPT
    public let config: DPOConfig
    let train: [EncodedPair]
    let validation: [EncodedPair]
    let pad: Int32
    private let tensors: TrainedTensors
    private var generator: SeededGenerator

    public init(policy: GPT, reference: GPT, encoder: ChatEncoder, train: [PreferencePair], validation: [PreferencePair], config: DPOConfig) throws {
        try config.validate()
        guard !train.isEmpty else { throw AlignmentError.emptyDataset("the DPO training pairs") }
        guard !validation.isEmpty else { throw AlignmentError.emptyDataset("the DPO validation pairs") }
        guard reference.config == policy.config, encoder.tokenizer.vocabularySize == policy.config.vocabularySize else {
            throw AlignmentError.mismatch("DPO's reference must have the policy's config and tokenizer")
        }
        let padToken = Int32(encoder.template.endOfTextID), batchSize = config.batchSize
        func encode(_ pairs: [PreferencePair]) throws -> [EncodedPair] {
            var encoded = try Self.encode(pairs, encoder: encoder, contextLength: policy.config.contextLength)
            for start in stride(from: 0, to: encoded.count, by: batchSize) {
                let range = start..<min(start + batchSize, encoded.count)
                let (chosen, rejected) = try Self.sequenceLogProbs(reference, Array(encoded[range]), pad: padToken)
                for (k, i) in range.enumerated() {
                    encoded[i].referenceChosen = chosen[k]
                    encoded[i].referenceRejected = rejected[k]
                }
            }
            return encoded
        }
        self.policy = policy
        self.config = config
        pad = padToken
        self.train = try encode(train)
        self.validation = try encode(validation)
        tensors = TrainedTensors(model: policy, settings: AdamWSettings())
        generator = SeededGenerator(seed: config.seed)
    }

    /// Each pair's prompt tokens and the tokens of its two replies (with `<|end|>`); reference log-probabilities 0.
    static func encode(_ pairs: [PreferencePair], encoder: ChatEncoder, contextLength: Int) throws -> [EncodedPair] {
        try pairs.map { pair -> EncodedPair in
            let prompt = try encoder.prompt(pair.chatPrompt)
            let reply = { (text: String) throws -> [Int] in
                let exchange = try encoder.exchange(prompt: pair.chatPrompt, response: text)
                guard exchange.starts(with: prompt) else { throw AlignmentError.mismatch("a reply's tokens do not extend its prompt's") }
                try encoder.checkFits(exchange.count, contextLength: contextLength, what: "a preference-pair answer")
                return Array(exchange.dropFirst(prompt.count))
            }
            return EncodedPair(prompt: prompt, chosen: try reply(pair.chosen), rejected: try reply(pair.rejected), referenceChosen: 0, referenceRejected: 0)
        }
    }

    /// Summed reply log-probabilities of chosen and rejected replies, run as one batch (chosen rows first).
    static func sequenceLogProbs(_ model: GPT, _ pairs: [EncodedPair], pad: Int32) throws -> (chosen: [Double], rejected: [Double]) {
        let batch = ResponseBatch(prompts: pairs.map(\.prompt) + pairs.map(\.prompt), responses: pairs.map(\.chosen) + pairs.map(\.rejected), pad: pad)
        let sums = try batch.logProbs(model).map { $0.reduce(0, +) }
        return (Array(sums[..<pairs.count]), Array(sums[pairs.count...]))
    }

    /// The mean DPO loss of `pairs` and, with `backward`, its gradient accumulated into the policy's gradients.
    func loss(_ pairs: [EncodedPair], backward: Bool) throws -> (loss: Double, accuracy: Double) {
        let n = pairs.count
        let batch = ResponseBatch(prompts: pairs.map(\.prompt) + pairs.map(\.prompt), responses: pairs.map(\.chosen) + pairs.map(\.rejected), pad: pad)
        let sums = try batch.logProbs(policy).map { $0.reduce(0, +) }
        var loss = 0.0, correct = 0
        var weights = [Float](repeating: 0, count: batch.padded.batch * batch.padded.time)
        for (i, pair) in pairs.enumerated() {
            let z = config.beta * ((sums[i] - pair.referenceChosen) - (sums[n + i] - pair.referenceRejected))
            loss += negativeLogSigmoid(z) / Double(n)
            correct += z > 0 ? 1 : 0
            // dL/dz = -sigmoid(-z) / n; d log pi(token) / d(position weight) = -1 (the weight multiplies -log pi).
            let g = config.beta * sigmoid(-z) / Double(n)
            for row in batch.positions[i] { weights[row] = Float(g) }
            for row in batch.positions[n + i] { weights[row] = Float(-g) }
        }
        if backward { policy.backward(positionWeights: weights) }
        return (loss, Double(correct) / Double(n))
    }

    /// The DPO loss of the training pairs at `indices`, its gradient accumulated into the policy's gradients
    /// (zero them first).
    public func trainingLoss(indices: [Int], backward: Bool) throws -> Double {
        try loss(indices.map { train[$0] }, backward: backward).loss
    }

    public func evaluate() throws -> (loss: Double, accuracy: Double) {
        var loss = 0.0, accuracy = 0.0
        for start in stride(from: 0, to: validation.count, by: config.batchSize) {
            let chunk = Array(validation[start..<min(start + config.batchSize, validation.count)])
            let result = try self.loss(chunk, backward: false)
            loss += result.loss * Double(chunk.count)
            accuracy += result.accuracy * Double(chunk.count)
        }
        return (loss / Double(validation.count), accuracy / Double(validation.count))
    }

    /// One optimizer step on a random batch of training pairs; returns its loss.
    func step(_ index: Int) throws -> Double {
        let chunk = (0..<config.batchSize).map { _ in train[generator.nextInt(below: train.count)] }
        tensors.zeroGradients()
        let loss = try self.loss(chunk, backward: true).loss
        tensors.step(learningRate: config.learningRate, clip: config.gradientClip)
        return loss
    }

    /// Trains in the shared fine-tuning loop (keeps the weights with the lowest held-out loss).
    public func run(report: (DPOCurvePoint) -> Void = { _ in }) throws -> [DPOCurvePoint] {
        try FineTuningLoop.run(
            config.stopping, weights: tensors.parameters, step: step,
            evaluate: { step, trainLoss in
                let held = try evaluate()
                return DPOCurvePoint(step: step, trainLoss: trainLoss, validationLoss: held.loss, validationAccuracy: held.accuracy)
            },
            validationLoss: \.validationLoss, report: report).curve
    }
}
