import Core
import Foundation
import Model
import Training

/// Settings of DPO; defaults in one place.
public struct DPOConfig: Codable, Equatable, Sendable {
    /// Strength of the implicit KL constraint: the implied reward is beta x (log pi - log pi_ref).
    public var beta = 0.1
    public var steps = 300
    /// Preference pairs per step.
    public var batchSize = 16
    public var learningRate: Float = 1e-5
    public var evalEvery = 50
    public var seed: UInt64 = 1337

    public init() {}

    public func validate() throws {
        guard beta > 0, beta.isFinite else { throw AlignmentError.invalidArgument("DPO beta must be positive, got \(beta)") }
        for (name, value) in [("steps", steps), ("batch", batchSize), ("eval every", evalEvery)] where value < 1 {
            throw AlignmentError.invalidArgument("DPO \(name) must be at least 1, got \(value)")
        }
        guard learningRate > 0, learningRate.isFinite else { throw AlignmentError.invalidArgument("DPO learning rate must be positive") }
    }
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
    private let optimizer: AdamW
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
        optimizer = AdamW(layout: policy.layout)
        generator = SeededGenerator(seed: config.seed)
    }

    /// Each pair's prompt tokens and the tokens of its two replies (with `<|end|>`); reference log-probabilities 0.
    static func encode(_ pairs: [PreferencePair], encoder: ChatEncoder, contextLength: Int) throws -> [EncodedPair] {
        try pairs.map { pair -> EncodedPair in
            let prompt = try encoder.prompt(pair.prompt)
            let reply = { (text: String) throws -> [Int] in
                let exchange = try encoder.exchange(prompt: pair.prompt, response: text)
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
            loss += (z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z))) / Double(n)  // -log sigmoid(z)
            correct += z > 0 ? 1 : 0
            // dL/dz = -sigmoid(-z) / n; d log pi(token) / d(position weight) = -1 (the weight multiplies -log pi).
            let g = config.beta / (1 + exp(z)) / Double(n)
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

    /// Trains for `steps` (constant learning rate, gradient clip 1), evaluating every `evalEvery` steps.
    public func run(report: (DPOCurvePoint) -> Void = { _ in }) throws -> [DPOCurvePoint] {
        let trainConfig = TrainConfig(batchSize: config.batchSize, steps: config.steps, learningRate: config.learningRate, warmupSteps: 0,
                                      weightDecay: 0, gradientClip: 1, seed: config.seed)
        let first = try evaluate()
        var curve = [DPOCurvePoint(step: 0, trainLoss: nil, validationLoss: first.loss, validationAccuracy: first.accuracy)]
        report(curve[0])
        var recent = 0.0, recentCount = 0
        for step in 1...config.steps {
            let chunk = (0..<config.batchSize).map { _ in train[generator.nextInt(below: train.count)] }
            policy.zeroGradients()
            recent += try loss(chunk, backward: true).loss
            recentCount += 1
            _ = AdamW.clipGradients(policy.gradients, maxNorm: 1)
            optimizer.update(parameters: policy.parameters, gradients: policy.gradients, learningRate: config.learningRate, step: step, config: trainConfig)
            guard step % config.evalEvery == 0 || step == config.steps else { continue }
            let held = try evaluate()
            let point = DPOCurvePoint(step: step, trainLoss: recent / Double(recentCount), validationLoss: held.loss, validationAccuracy: held.accuracy)
            recent = 0
            recentCount = 0
            curve.append(point)
            report(point)
        }
        return curve
    }
}
