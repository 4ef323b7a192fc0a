import Alignment
import Tasks
import Core
import Foundation
import Model
import TestSupport
import XCTest

final class DPOTests: XCTestCase {
    /// The DPO loss and its gradient (every tensor of the policy) against central finite differences of an
    /// independent Double computation: ReferenceGPT's hidden states, the tied LM head and log-softmax in Double.
    func testDPOLossGradientMatchesFiniteDifferences() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let config = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 32, layers: 1, heads: 2, width: 8)
        let layout = ParameterLayout(config: config)
        var values = randomValues(layout.count, scale: 0.3, seed: 31)
        for tensor in layout.tensors where tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight") || tensor.name == "ln_f.weight" {
            for i in 0..<tensor.count { values[tensor.offset + i] += 1 }
        }
        let policy = try GPT(config: config, parameters: FloatBuffer(values))
        let referenceValues = randomValues(layout.count, scale: 0.3, seed: 32).enumerated().map { $0.element + values[$0.offset] * 0.9 }
        let referenceModel = try GPT(config: config, parameters: FloatBuffer(referenceValues))
        let pair = PreferencePair(family: "add", prompt: "What is 2 + 3?", chosen: "5", rejected: "6 6", failure: "wrong",
                                  chosenScore: 1, rejectedScore: 0.1)
        var dpo = DPOConfig()
        dpo.beta = 0.5
        let trainer = try DPOTrainer(policy: policy, reference: referenceModel, encoder: encoder, train: [pair], validation: [pair], config: dpo)
        policy.zeroGradients()
        let loss = try trainer.trainingLoss(indices: [0], backward: true)

        func sequenceLogProb(_ parameters: [Double], reply: String) throws -> Double {
            try Self.referenceLogLikelihood(parameters: parameters, config: config, encoder: encoder, prompt: pair.prompt, reply: reply)
        }
        let referenceDouble = referenceValues.map(Double.init)
        let referenceChosen = try sequenceLogProb(referenceDouble, reply: pair.chosen)
        let referenceRejected = try sequenceLogProb(referenceDouble, reply: pair.rejected)
        func objective(_ x: [Double]) -> Double {
            let z = 0.5 * ((try! sequenceLogProb(x, reply: pair.chosen) - referenceChosen) - (try! sequenceLogProb(x, reply: pair.rejected) - referenceRejected))
            return log1p(exp(-z))
        }
        let x = values.map(Double.init)
        assertClose(loss, objective(x), absolute: 1e-5, relative: 1e-4)
        let numeric = finiteDifferenceGradient(of: x, objective)
        let analytic = policy.gradients.array.map(Double.init)
        for tensor in layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            assertClose(Array(analytic[range]), Array(numeric[range]), absolute: 3e-5, relative: 3e-3, tensor.name)
        }
        XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-2)
    }

    /// The likelihood ranking (the SFT model as an untrained reward model) against an independent Double computation:
    /// ReferenceGPT's hidden states, the tied LM head and log-softmax, summed over each reply and its `<|end|>`.
    /// Replies of different lengths in one batch check the padding; the batch of 2 checks that batches are joined.
    func testLikelihoodRankingMatchesAReferenceLogLikelihood() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let config = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 64, layers: 1, heads: 2, width: 8)
        let layout = ParameterLayout(config: config)
        let values = randomValues(layout.count, scale: 0.5, seed: 41)
        let model = try GPT(config: config, parameters: FloatBuffer(values))
        let pairs = [("What is 2 + 3?", "5", "6 6", "wrong", "add"), ("What is 4 + 4?", "8", "It is 8.", "rambling", "add"),
                     ("Put the word cat in brackets.", "[cat]", "cat", "format", "bracket"),
                     ("Put the word dog in brackets.", "[dog]", "[dog] [dog]", "repetition", "bracket"),
                     ("What is 1 + 1?", "2", "3", "wrong", "add")]
            .map { PreferencePair(family: $0.4, prompt: $0.0, chosen: $0.1, rejected: $0.2, failure: $0.3, chosenScore: 1, rejectedScore: 0.1) }
        let metrics = try LikelihoodRanking.metrics(model: model, encoder: encoder, pairs: pairs, batchSize: 2)

        let parameters = values.map(Double.init)
        func logLikelihood(_ prompt: String, _ reply: String) throws -> Double {
            try Self.referenceLogLikelihood(parameters: parameters, config: config, encoder: encoder, prompt: prompt, reply: reply)
        }
        let chosen = try pairs.map { try logLikelihood($0.prompt, $0.chosen) }
        let rejected = try pairs.map { try logLikelihood($0.prompt, $0.rejected) }
        let hits = zip(chosen, rejected).map { $0 > $1 }
        XCTAssertTrue(hits.contains(true) && hits.contains(false), "the random model should rank some pairs each way: \(chosen) \(rejected)")
        let n = Double(pairs.count)
        XCTAssertEqual(metrics.count, pairs.count)
        XCTAssertEqual(metrics.accuracy, Double(hits.filter { $0 }.count) / n)
        assertClose(metrics.meanChosen, chosen.reduce(0, +) / n, absolute: 1e-4, relative: 1e-4)
        assertClose(metrics.meanRejected, rejected.reduce(0, +) / n, absolute: 1e-4, relative: 1e-4)
        let loss = zip(chosen, rejected).map { log1p(exp(-($0 - $1))) }.reduce(0, +) / n
        assertClose(metrics.loss, loss, absolute: 1e-4, relative: 1e-4)
        for (index, pair) in pairs.enumerated() where pair.failure != "wrong" {
            XCTAssertEqual(metrics.accuracyByFailure[pair.failure], hits[index] ? 1 : 0, pair.failure)
        }
        let addHits = pairs.indices.filter { pairs[$0].family == "add" && hits[$0] }.count
        XCTAssertEqual(metrics.accuracyByFamily["add"], Double(addHits) / 3)
    }

    /// Training on pairs raises the policy's preference for the chosen replies on them and keeps the
    /// reference fixed: before any step the implied margins are exactly 0 (policy == reference), loss ln 2.
    func testDPOStartsAtLog2AndLearnsThePairs() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        var generator = SeededGenerator(seed: 9)
        let config = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 96, layers: 1, heads: 2, width: 16)
        let policy = try GPT(config: config, generator: &generator)
        let reference = try GPT(config: config, parameters: FloatBuffer(policy.parameters.array))
        var data = InstructDataGenerator(config: InstructDataConfig())
        let pairs = Array(data.pairs(count: 40, heldOut: false).prefix(16))
        var dpo = DPOConfig()
        dpo.steps = 30
        dpo.evalEvery = 30
        dpo.learningRate = 3e-3
        let trainer = try DPOTrainer(policy: policy, reference: reference, encoder: encoder, train: pairs, validation: pairs, config: dpo)
        let curve = try trainer.run()
        XCTAssertEqual(curve[0].validationLoss, log(2), accuracy: 1e-6)
        XCTAssertLessThan(curve.last!.validationLoss, 0.3)
        XCTAssertGreaterThan(curve.last!.validationAccuracy, 0.9)
        XCTAssertThrowsError(try DPOTrainer(policy: policy, reference: reference, encoder: encoder, train: [], validation: pairs, config: dpo))
    }

    /// log pi(reply <|end|> | prompt) in Double, independent of GPT: ReferenceGPT's hidden states, the tied LM head
    /// and a log-softmax per reply position.
    static func referenceLogLikelihood(parameters: [Double], config: ModelConfig, encoder: ChatEncoder, prompt: String, reply: String) throws -> Double {
        let layout = ParameterLayout(config: config)
        let c = config.width, v = config.vocabularySize
        let promptLength = try encoder.prompt(ChatPrompt(text: prompt)).count
        let sequence = try encoder.exchange(prompt: ChatPrompt(text: prompt), response: reply).map(Int32.init)
        let inputs = Array(sequence.dropLast()), targets = Array(sequence.dropFirst())
        let hidden = ReferenceGPT(config: config).hiddenStates(parameters: parameters, tokens: inputs, batch: 1, time: inputs.count)
        return (promptLength - 1..<inputs.count).map { row -> Double in
            let logits = (0..<v).map { j in (0..<c).map { hidden[row][$0] * parameters[layout.tokenEmbedding + j * c + $0] }.reduce(0, +) }
            let top = logits.max()!
            return logits[Int(targets[row])] - (log(logits.map { exp($0 - top) }.reduce(0, +)) + top)
        }.reduce(0, +)
    }
}
