import Core
import Foundation
import Model
import TestSupport
import Training
import XCTest

final class OptimizerTests: XCTestCase {
    func testScheduleByHand() {
        var config = TrainConfig()
        config.learningRate = 1e-3
        config.minLearningRate = 1e-4
        config.warmupSteps = 9
        config.steps = 109
        let schedule = LearningRateSchedule(config: config)
        XCTAssertEqual(schedule.rate(at: 0), 1e-4, accuracy: 1e-9)           // 1e-3 * 1 / 10
        XCTAssertEqual(schedule.rate(at: 4), 5e-4, accuracy: 1e-9)           // 1e-3 * 5 / 10
        XCTAssertEqual(schedule.rate(at: 9), 1e-3, accuracy: 1e-9)           // cosine starts at the peak
        XCTAssertEqual(schedule.rate(at: 59), 5.5e-4, accuracy: 1e-8)        // halfway: min + (peak - min) / 2
        XCTAssertEqual(schedule.rate(at: 109), 1e-4, accuracy: 1e-9)         // the end
    }

    /// One AdamW step worked by hand: with m = v = 0 the first bias-corrected step is
    /// p -= lr * (g / (|g| + eps) + wd * p) for decayed tensors, and lr * sign(g) for the others.
    func testAdamWFirstStepByHand() throws {
        let config = ModelConfig(vocabularySize: 3, contextLength: 2, layers: 1, heads: 1, width: 2)
        let layout = ParameterLayout(config: config)
        let parameters = FloatBuffer([Float](repeating: 2, count: layout.count))
        let gradients = FloatBuffer([Float](repeating: -0.5, count: layout.count))
        var train = TrainConfig()
        train.weightDecay = 0.1
        let optimizer = AdamW(layout: layout, settings: train.adamW)
        optimizer.update(parameters: parameters, gradients: gradients, learningRate: 0.01, step: 1)
        for tensor in layout.tensors {
            let expected: Float = tensor.decays ? 2 + 0.01 * (1 - 0.1 * 2) : 2 + 0.01
            XCTAssertEqual(parameters[tensor.offset], expected, accuracy: 1e-6, tensor.name)
        }
        XCTAssertEqual(optimizer.m[0], 0.1 * -0.5, accuracy: 1e-7)
        XCTAssertEqual(optimizer.v[0], 0.01 * 0.25, accuracy: 1e-8)
    }

    func testGradientClippingByGlobalNorm() {
        let gradients = FloatBuffer([3, 4, 0, 0])
        XCTAssertEqual(AdamW.clipGradients(gradients, maxNorm: 10), 5, accuracy: 1e-6)
        XCTAssertEqual(gradients.array, [3, 4, 0, 0])
        XCTAssertEqual(AdamW.clipGradients(gradients, maxNorm: 1), 5, accuracy: 1e-6)
        assertClose(gradients.array, [0.6, 0.8, 0, 0], absolute: 1e-6, relative: 0)
        // A model and its head are clipped as one vector: one norm, one scale for both.
        let model = FloatBuffer([3, 0]), head = FloatBuffer([0, 4, 0])
        XCTAssertEqual(AdamW.clipGradients([model, head], maxNorm: 1), 5, accuracy: 1e-6)
        assertClose(model.array + head.array, [0.6, 0, 0, 0.8, 0], absolute: 1e-6, relative: 0)
    }

    /// A head's optimizer never decays, whatever the settings say of the model's.
    func testUndecayedAdamWIgnoresWeightDecay() {
        let parameters = FloatBuffer([2, 2]), gradients = FloatBuffer([-0.5, 0])
        AdamW(undecayedCount: 2, settings: AdamWSettings(weightDecay: 0.1)).update(parameters: parameters, gradients: gradients,
                                                                                  learningRate: 0.01, step: 1)
        assertClose(parameters.array, [2.01, 2], absolute: 1e-6, relative: 0)
    }

    func testTrainingDataSplitAndBatches() throws {
        let tokens = (0..<100).map { Int32($0) }
        let data = try TrainingData(tokens: tokens, validationFraction: 0.1, contextLength: 8)
        XCTAssertEqual(try data.train.ids(0..<90), Array(tokens[0..<90]))
        XCTAssertEqual(try data.validation.ids(0..<10), Array(tokens[90...]))
        XCTAssertThrowsError(try data.validation.ids(5..<11))
        var generator = SeededGenerator(seed: 1)
        let batch = try TrainingData.randomBatch(from: data.train, batch: 3, time: 8, generator: &generator)
        XCTAssertEqual(batch.inputs.count, 24)
        XCTAssertEqual(zip(batch.inputs, batch.targets).map { $1 - $0 }, [Int32](repeating: 1, count: 24), "targets are the next tokens")
        XCTAssertThrowsError(try TrainingData(tokens: Array(tokens[0..<50]), validationFraction: 0.1, contextLength: 8))
        XCTAssertThrowsError(try TrainingData(tokens: [], validationFraction: 0.1, contextLength: 8))
    }
}
