import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

final class TrainerTests: XCTestCase {
    let corpus = String(repeating: "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! ", count: 40)
    let modelConfig = ModelConfig(vocabularySize: 0, contextLength: 16, layers: 2, heads: 2, width: 16)

    func makeTrainer(steps: Int, directory: String, architecture: Architecture = .gpt) throws -> Trainer {
        let tokenizer = try CharTokenizer(corpus: corpus)
        var config = TrainConfig()
        config.steps = steps
        config.batchSize = 4
        config.warmupSteps = 3
        config.evalEvery = 5
        config.evalBatches = 2
        config.learningRate = 1e-2
        config.gradientAccumulation = 2
        var shape = modelConfig
        shape.vocabularySize = tokenizer.vocabularySize
        shape.architecture = architecture
        if architecture == .lstm { shape.heads = 1 }
        let data = try TrainingData(tokens: try tokenizer.encode(corpus).map(Int32.init), validationFraction: 0.1, contextLength: 16)
        return try Trainer(modelConfig: shape, tokenizer: tokenizer, data: data, config: config, runDirectory: directory)
    }

    func losses(_ trainer: Trainer, stopAt: Int? = nil) throws -> [Float] {
        var seen: [Float] = []
        try trainer.run(stopAt: stopAt) { seen.append($0.trainLoss) }
        return seen
    }

    /// A run stopped at step 6 and resumed from its directory ends with exactly the losses and weights
    /// of an uninterrupted run.
    func testResumeReproducesUninterruptedRun() throws {
        let whole = TemporaryDirectory(), split = TemporaryDirectory()
        let uninterrupted = try makeTrainer(steps: 12, directory: whole.path)
        let expected = try losses(uninterrupted)

        let first = try makeTrainer(steps: 12, directory: split.path)
        var seen = try losses(first, stopAt: 6)
        let data = first.data
        let resumed = try Trainer.resume(runDirectory: split.path, data: data)
        XCTAssertEqual(resumed.step, 6)
        seen += try losses(resumed)
        XCTAssertEqual(seen, expected)
        XCTAssertEqual(resumed.model.parameters.array, uninterrupted.model.parameters.array)
        // Every step appended one metrics line.
        let lines = try TextFile.read(split.file(Trainer.metricsFile)).split(separator: "\n")
        XCTAssertEqual(lines.count, 12)
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any]
        XCTAssertEqual(last?["step"] as? Int, 12)
        XCTAssertNotNil(last?["val_loss"])
        XCTAssertNotNil(last?["tokens_per_sec"])
    }

    /// The LSTM goes through the same trainer, optimizer and checkpoints: stopped and resumed, it too ends
    /// with exactly the losses and weights of an uninterrupted run.
    func testLSTMResumeReproducesUninterruptedRun() throws {
        let whole = TemporaryDirectory(), split = TemporaryDirectory()
        let uninterrupted = try makeTrainer(steps: 12, directory: whole.path, architecture: .lstm)
        let expected = try losses(uninterrupted)
        let first = try makeTrainer(steps: 12, directory: split.path, architecture: .lstm)
        var seen = try losses(first, stopAt: 6)
        let resumed = try Trainer.resume(runDirectory: split.path, data: first.data)
        XCTAssertTrue(resumed.model is LSTM)
        seen += try losses(resumed)
        XCTAssertEqual(seen, expected)
        XCTAssertEqual(resumed.model.parameters.array, uninterrupted.model.parameters.array)
    }

    /// An LSTM first learns the character frequencies and only later uses its state: it needs more steps.
    func testLSTMTrainingLowersLoss() throws {
        let directory = TemporaryDirectory()
        let seen = try losses(try makeTrainer(steps: 80, directory: directory.path, architecture: .lstm))
        XCTAssertLessThan(seen.suffix(5).reduce(0, +) / 5, seen.prefix(5).reduce(0, +) / 5 - 0.5)
    }

    func testSameSeedGivesSameLossesAndTrainingLowersLoss() throws {
        let a = TemporaryDirectory(), b = TemporaryDirectory()
        let first = try losses(try makeTrainer(steps: 30, directory: a.path))
        let second = try losses(try makeTrainer(steps: 30, directory: b.path))
        XCTAssertEqual(first, second)
        XCTAssertLessThan(first.suffix(5).reduce(0, +) / 5, first.prefix(5).reduce(0, +) / 5 - 0.5)
    }

    func testResumeRefusesAnotherCorpus() throws {
        let directory = TemporaryDirectory()
        _ = try losses(try makeTrainer(steps: 5, directory: directory.path))
        let tokenizer = try CharTokenizer(corpus: corpus)
        let other = try TrainingData(tokens: try tokenizer.encode(String(corpus.reversed())).map(Int32.init),
                                     validationFraction: 0.1, contextLength: 16)
        XCTAssertThrowsError(try Trainer.resume(runDirectory: directory.path, data: other))
    }

    /// A tiny model memorises one fixed batch.
    func testOverfitsOneBatch() throws {
        let config = ModelConfig(vocabularySize: 11, contextLength: 8, layers: 2, heads: 2, width: 32)
        var generator = SeededGenerator(seed: 3)
        let model = try GPT(config: config, generator: &generator)
        let tokens = (0..<16).map { _ in Int32(generator.nextInt(below: 11)) }
        let targets = (0..<16).map { _ in Int32(generator.nextInt(below: 11)) }
        var train = TrainConfig()
        train.weightDecay = 0
        let optimizer = AdamW(layout: model.layout, settings: train.adamW)
        var loss: Float = .infinity
        for step in 1...150 {
            model.zeroGradients()
            loss = try model.forward(tokens: tokens, targets: targets, batch: 2, time: 8)!
            model.backward()
            optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: 1e-2, step: step)
        }
        XCTAssertLessThan(loss, 0.05)
    }

    /// Whole-stream evaluation equals the per-window losses computed one window at a time.
    func testEvaluationCoversEveryTokenOnce() throws {
        let config = ModelConfig(vocabularySize: 7, contextLength: 4, layers: 1, heads: 1, width: 8)
        var generator = SeededGenerator(seed: 4)
        let model = try GPT(config: config, generator: &generator)
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4]  // 10 predictions: windows of 4, 4 and 2
        let result = try Evaluation.crossEntropy(model: model, tokens: tokens, batchSize: 1)
        XCTAssertEqual(result.predictedTokens, 10)
        var total = 0.0
        for (start, length) in [(0, 4), (4, 4), (8, 2)] {
            let mean = try model.forward(tokens: Array(tokens[start..<(start + length)]),
                                         targets: Array(tokens[(start + 1)...(start + length)]), batch: 1, time: length)!
            total += Double(mean) * Double(length)
        }
        XCTAssertEqual(result.totalNats, total, accuracy: 1e-4)
    }
}
