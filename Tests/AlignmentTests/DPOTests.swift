import Alignment
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
        let pair = PreferencePair(family: .add, prompt: "What is 2 + 3?", chosen: "5", rejected: "6 6", failure: "wrong",
                                  chosenScore: 1, rejectedScore: 0.1)
        var dpo = DPOConfig()
        dpo.beta = 0.5
        let trainer = try DPOTrainer(policy: policy, reference: referenceModel, encoder: encoder, train: [pair], validation: [pair], config: dpo)
        policy.zeroGradients()
        let loss = try trainer.trainingLoss(indices: [0], backward: true)

        let reference = ReferenceGPT(config: config)
        let c = config.width, v = config.vocabularySize
        let promptLength = try encoder.prompt(pair.prompt).count
        func sequenceLogProb(_ parameters: [Double], reply: String) throws -> Double {
            let sequence = try encoder.exchange(prompt: pair.prompt, response: reply).map(Int32.init)
            let inputs = Array(sequence.dropLast()), targets = Array(sequence.dropFirst())
            let hidden = reference.hiddenStates(parameters: parameters, tokens: inputs, batch: 1, time: inputs.count)
            return (promptLength - 1..<inputs.count).map { row -> Double in
                let logits = (0..<v).map { j in (0..<c).map { hidden[row][$0] * parameters[layout.tokenEmbedding + j * c + $0] }.reduce(0, +) }
                let top = logits.max()!
                return logits[Int(targets[row])] - (log(logits.map { exp($0 - top) }.reduce(0, +)) + top)
            }.reduce(0, +)
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
}
