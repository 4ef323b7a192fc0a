import Alignment
import Tasks
import Core
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// PPO's pure pieces against values worked by hand on a 3-token response.
final class PPOMathTests: XCTestCase {
    /// rewards (0, 0, 1), values (0.5, 0.6, 0.7), gamma 1, lambda 0.95, value after the end 0:
    /// deltas: 0 + 0.6 - 0.5 = 0.1, 0 + 0.7 - 0.6 = 0.1, 1 + 0 - 0.7 = 0.3
    /// A_2 = 0.3, A_1 = 0.1 + 0.95 * 0.3 = 0.385, A_0 = 0.1 + 0.95 * 0.385 = 0.46575; returns = A + V.
    func testGAEOnAThreeTokenEpisode() {
        let (advantages, returns) = PPOMath.gae(rewards: [0, 0, 1], values: [0.5, 0.6, 0.7], gamma: 1, lambda: 0.95)
        assertClose(advantages, [0.46575, 0.385, 0.3], absolute: 1e-12, relative: 1e-12)
        assertClose(returns, [0.96575, 0.985, 1.0], absolute: 1e-12, relative: 1e-12)
        // gamma 0.5, lambda 1: A_2 = 0.3, A_1 = (0 + 0.35 - 0.6) + 0.5 * 0.3 = -0.1, A_0 = (0 + 0.3 - 0.5) + 0.5 * -0.1 = -0.25
        assertClose(PPOMath.gae(rewards: [0, 0, 1], values: [0.5, 0.6, 0.7], gamma: 0.5, lambda: 1).advantages,
                    [-0.25, -0.1, 0.3], absolute: 1e-12, relative: 1e-12)
    }

    /// ratios 1.5, 0.9, 0.7, advantages 1, -1, 2, epsilon 0.2:
    /// t0: max(-1.5, -1.2) = -1.2 (clipped, gradient 0); t1: max(0.9, 0.9) = 0.9 (gradient -A rho = 0.9);
    /// t2: max(-1.4, -1.6) = -1.4 (gradient -1.4). Loss (-1.2 + 0.9 - 1.4) / 3; gradients / 3; clip fraction 1/3.
    func testClippedPolicyLossByHand() {
        let result = PPOMath.clippedPolicyLoss(logProbs: [log(1.5), log(0.9), log(0.7)], oldLogProbs: [0, 0, 0],
                                               advantages: [1, -1, 2], clip: 0.2)
        XCTAssertEqual(result.loss, -1.7 / 3, accuracy: 1e-12)
        assertClose(result.gradient, [0, 0.3, -1.4 / 3], absolute: 1e-12, relative: 1e-12)
        XCTAssertEqual(result.clipFraction, 1.0 / 3, accuracy: 1e-12)
        // The gradient agrees with finite differences of the loss.
        let numeric = finiteDifferenceGradient(of: [log(1.5), log(0.9), log(0.7)]) {
            PPOMath.clippedPolicyLoss(logProbs: $0, oldLogProbs: [0, 0, 0], advantages: [1, -1, 2], clip: 0.2).loss
        }
        assertClose(result.gradient, numeric, absolute: 1e-7, relative: 1e-6)
    }

    /// values (1.0, 0.2, 0.5), old values 0.5, returns (1.2, 0.0, 0.4), epsilon 0.2:
    /// t0: max(0.04, (0.7 - 1.2)^2 = 0.25) = 0.25 (clipped); t1: max(0.04, 0.3^2 = 0.09) = 0.09 (clipped);
    /// t2: 0.01 both ways. Loss 0.5 * 0.35 / 3; gradient only at t2: (0.5 - 0.4) / 3.
    func testClippedValueLossByHand() {
        let result = PPOMath.clippedValueLoss(values: [1.0, 0.2, 0.5], oldValues: [0.5, 0.5, 0.5], returns: [1.2, 0.0, 0.4], clip: 0.2)
        XCTAssertEqual(result.loss, 0.5 * 0.35 / 3, accuracy: 1e-12)
        assertClose(result.gradient, [0, 0, 0.1 / 3], absolute: 1e-12, relative: 1e-12)
    }

    func testKLRewardsAndWhitening() {
        XCTAssertEqual(PPOMath.tokenKL(logProbs: [-1.25, -0.5, -3], referenceLogProbs: [-1.25, -0.5, -3]), [0, 0, 0])
        assertClose(PPOMath.rewards(score: 2, kl: [0.1, -0.2, 0.3], beta: 0.5), [-0.05, 0.1, 1.85], absolute: 1e-12, relative: 1e-12)
        let white = PPOMath.whiten([1, 2, 3])
        XCTAssertEqual(white.reduce(0, +), 0, accuracy: 1e-12)
        XCTAssertEqual(white.map { $0 * $0 }.reduce(0, +) / 3, 1, accuracy: 1e-7)
        var controller = AdaptiveKLController(beta: 0.1, target: 6, horizon: 10_000)
        controller.update(kl: 12, steps: 1000)  // error clipped to 0.2: beta * (1 + 0.2 * 0.1)
        XCTAssertEqual(controller.beta, 0.102, accuracy: 1e-12)
    }

    func testKLIsExactlyZeroWhenThePolicyIsTheReference() throws {
        var generator = SeededGenerator(seed: 9)
        let config = ModelConfig(vocabularySize: 11, contextLength: 8, layers: 1, heads: 2, width: 8)
        let policy = try GPT(config: config, generator: &generator)
        let reference = try GPT(config: config, parameters: FloatBuffer(policy.parameters.array))
        let batch = ResponseBatch(prompts: [[1]], responses: [[2, 3, 4, 5, 6, 7]], pad: 0)
        let a = try batch.logProbs(policy)[0], b = try batch.logProbs(reference)[0]
        XCTAssertEqual(PPOMath.tokenKL(logProbs: a, referenceLogProbs: b), [Double](repeating: 0, count: 6))
    }

    func testAZeroAdvantageStepLeavesThePolicyUnchanged() throws {
        var generator = SeededGenerator(seed: 10)
        let config = ModelConfig(vocabularySize: 11, contextLength: 8, layers: 1, heads: 2, width: 8)
        let policy = try GPT(config: config, generator: &generator)
        let before = policy.parameters.array
        let head = try ValueHead(width: 8)
        let batch = ResponseBatch(prompts: [[1, 2, 3]], responses: [[4, 5, 6]], pad: 0)
        let old = try batch.logProbs(policy)[0]
        func step(advantages: [Double]) throws -> PPOMinibatchStats {
            policy.zeroGradients()
            let stats = try PPOLoss.lossAndBackward(model: policy, valueHead: head, batch: batch, oldLogProbs: old, advantages: advantages,
                                                    oldValues: [0, 0, 0], returns: [0, 0, 0], clip: 0.2, valueClip: 0.2,
                                                    valueCoefficient: 0, valueGradientIntoBackbone: false)
            AdamW(layout: policy.layout, settings: AdamWSettings()).update(parameters: policy.parameters, gradients: policy.gradients,
                                                                            learningRate: 1e-2, step: 1)
            return stats
        }
        XCTAssertEqual(try step(advantages: [0, 0, 0]).policyLoss, 0)
        XCTAssertEqual(policy.parameters.array, before)
        // A non-zero advantage does move it (the test above is not vacuous).
        _ = try step(advantages: [1, -1, 0.5])
        XCTAssertNotEqual(policy.parameters.array, before)
    }
}

/// The value head and the combined PPO objective (clipped surrogate + c * clipped value loss) against central
/// finite differences of an independent Double computation (ReferenceGPT), for every backbone tensor and the head.
final class ValueHeadGradientTests: XCTestCase {
    func testCombinedPolicyAndValueLossGradientMatchesFiniteDifferences() throws {
        let config = ModelConfig(vocabularySize: 7, contextLength: 6, layers: 2, heads: 2, width: 8)
        let layout = ParameterLayout(config: config)
        var values = randomValues(layout.count, scale: 0.3, seed: 21)
        for tensor in layout.tensors where tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight") || tensor.name == "ln_f.weight" {
            for i in 0..<tensor.count { values[tensor.offset + i] += 1 }
        }
        let model = try GPT(config: config, parameters: FloatBuffer(values))
        let head = try ValueHead(width: 8, parameters: FloatBuffer(randomValues(9, scale: 0.5, seed: 22)))
        // Prompt 1 4 2, response 6 3 0: rows 2, 3 and 4 predict the response tokens.
        let tokens: [Int32] = [1, 4, 2, 6, 3, 0], targets: [Int32] = [4, 2, 6, 3, 0, 5]
        let batch = ResponseBatch(prompts: [[1, 4, 2]], responses: [[6, 3, 0]], pad: 0)
        let rows = [2, 3, 4]
        XCTAssertEqual(batch.flatPositions, rows)
        // Old log-probabilities and values near the current ones, so no term sits on a clip boundary.
        let current = try batch.logProbs(model)[0]
        let oldLogProbs = [current[0] + 0.05, current[1] - 0.05, current[2] + 0.02]
        let advantages = [0.7, -1.1, 0.4], returns = [0.3, -0.2, 0.9]
        let oldValues = head.values(model: model, rows: rows).map { $0 + 0.01 }
        let coefficient = 0.5
        model.zeroGradients()
        let result = try PPOLoss.lossAndBackward(model: model, valueHead: head, batch: batch, oldLogProbs: oldLogProbs, advantages: advantages,
                                                 oldValues: oldValues, returns: returns, clip: 0.2, valueClip: 10,
                                                 valueCoefficient: coefficient, valueGradientIntoBackbone: true)
        XCTAssertEqual(result.clipFraction, 0)
        // log-ratios new - old are (-0.05, 0.05, -0.02): approx-KL 0.5 * (0.0025 + 0.0025 + 0.0004) / 3.
        XCTAssertEqual(result.approxKL, 0.0009, accuracy: 1e-7)

        let reference = ReferenceGPT(config: config)
        let p = layout.count, c = config.width, v = config.vocabularySize
        func objective(_ x: [Double]) -> Double {
            let parameters = Array(x[0..<p])
            let hidden = reference.hiddenStates(parameters: parameters, tokens: tokens, batch: 1, time: 6)
            let logProbs = rows.map { row -> Double in
                let logits = (0..<v).map { j in (0..<c).map { hidden[row][$0] * parameters[layout.tokenEmbedding + j * c + $0] }.reduce(0, +) }
                let top = logits.max()!
                let normaliser = log(logits.map { exp($0 - top) }.reduce(0, +)) + top
                return logits[Int(targets[row])] - normaliser
            }
            let valuesNow = rows.map { row in (0..<c).map { x[p + $0] * hidden[row][$0] }.reduce(x[p + c], +) }
            return PPOMath.clippedPolicyLoss(logProbs: logProbs, oldLogProbs: oldLogProbs, advantages: advantages, clip: 0.2).loss
                + coefficient * PPOMath.clippedValueLoss(values: valuesNow, oldValues: oldValues, returns: returns, clip: 10).loss
        }
        let x = (model.parameters.array + head.parameters.array).map(Double.init)
        assertClose(result.policyLoss + coefficient * result.valueLoss, objective(x), absolute: 1e-5, relative: 1e-5)
        let numeric = finiteDifferenceGradient(of: x, objective)
        let analytic = (model.gradients.array + head.gradients.array).map(Double.init)
        for tensor in layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            assertClose(Array(analytic[range]), Array(numeric[range]), absolute: 3e-5, relative: 3e-3, tensor.name)
        }
        assertClose(Array(analytic[p...]), Array(numeric[p...]), absolute: 3e-5, relative: 3e-3, "value head")
        XCTAssertGreaterThan(numeric[p...].map(abs).max()!, 1e-2)

        // With the value loss kept off the backbone, the backbone's gradient is the policy term's alone and
        // the head's gradient is unchanged.
        let shared = model.gradients.array, sharedHead = head.gradients.array
        func gradients(coefficient: Double, intoBackbone: Bool) throws -> [Float] {
            model.zeroGradients()
            head.gradients.fill(0)
            _ = try PPOLoss.lossAndBackward(model: model, valueHead: head, batch: batch, oldLogProbs: oldLogProbs, advantages: advantages,
                                            oldValues: oldValues, returns: returns, clip: 0.2, valueClip: 10,
                                            valueCoefficient: coefficient, valueGradientIntoBackbone: intoBackbone)
            return model.gradients.array
        }
        let policyOnly = try gradients(coefficient: 0, intoBackbone: true)
        XCTAssertEqual(try gradients(coefficient: coefficient, intoBackbone: false), policyOnly)
        XCTAssertEqual(head.gradients.array, sharedHead)
        XCTAssertNotEqual(shared, policyOnly, "the shared value loss does reach the backbone")
    }
}
