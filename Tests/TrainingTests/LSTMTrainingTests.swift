import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

/// The LSTM goes through the same trainer, optimizer and checkpoints as the GPT.
final class LSTMTrainingTests: XCTestCase {
    let corpus = String(repeating: "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! ", count: 40)

    func makeTrainer(steps: Int, directory: String) throws -> Trainer {
        let tokenizer = try CharTokenizer(corpus: corpus)
        var config = TrainConfig()
        config.steps = steps
        config.batchSize = 4
        config.warmupSteps = 3
        config.evalEvery = 5
        config.evalBatches = 2
        config.learningRate = 1e-2
        config.gradientAccumulation = 2
        let shape = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 2, heads: 1, width: 16,
                                architecture: .lstm)
        let data = try TrainingData(tokens: try tokenizer.encode(corpus).map(Int32.init), validationFraction: 0.1, contextLength: 16)
        return try Trainer(modelConfig: shape, tokenizer: tokenizer, data: data, config: config, runDirectory: directory)
    }

    func losses(_ trainer: Trainer, stopAt: Int? = nil) throws -> [Float] {
        var seen: [Float] = []
        try trainer.run(stopAt: stopAt) { seen.append($0.trainLoss) }
        return seen
    }

    /// Stopped at step 6 and resumed from its directory, an LSTM run ends with exactly the losses and
    /// weights of an uninterrupted one (the Adam moments and the data generator are restored too).
    func testResumeReproducesUninterruptedRun() throws {
        let whole = TemporaryDirectory(), split = TemporaryDirectory()
        let uninterrupted = try makeTrainer(steps: 12, directory: whole.path)
        let expected = try losses(uninterrupted)

        let first = try makeTrainer(steps: 12, directory: split.path)
        var seen = try losses(first, stopAt: 6)
        let resumed = try Trainer.resume(runDirectory: split.path, data: first.data)
        XCTAssertTrue(resumed.model is LSTM)
        XCTAssertEqual(resumed.step, 6)
        seen += try losses(resumed)
        XCTAssertEqual(seen, expected)
        XCTAssertEqual(resumed.model.parameters.array, uninterrupted.model.parameters.array)
    }

    func testTrainingLowersTheLoss() throws {
        let directory = TemporaryDirectory()
        let seen = try losses(try makeTrainer(steps: 80, directory: directory.path))
        XCTAssertLessThan(seen.suffix(5).reduce(0, +) / 5, seen.prefix(5).reduce(0, +) / 5 - 0.5)
    }
}
