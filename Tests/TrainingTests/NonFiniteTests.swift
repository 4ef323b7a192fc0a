import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

final class NonFiniteTests: XCTestCase {
    let corpus = String(repeating: "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! ", count: 40)

    func makeTrainer(directory: String, policy: NonFinitePolicy) throws -> Trainer {
        let tokenizer = try CharTokenizer(corpus: corpus)
        var config = TrainConfig()
        config.steps = 8
        config.batchSize = 4
        config.warmupSteps = 2
        config.evalEvery = 100
        config.evalBatches = 1
        config.saveEvery = 1
        let shape = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 2, heads: 2, width: 16)
        let data = try TrainingData(tokens: try tokenizer.encode(corpus).map(Int32.init), validationFraction: 0.1, contextLength: 16)
        let trainer = try Trainer(modelConfig: shape, tokenizer: tokenizer, data: data, config: config, runDirectory: directory)
        trainer.nonFinitePolicy = policy
        return trainer
    }

    func offset(of name: String, in trainer: Trainer) throws -> Int {
        try XCTUnwrap(trainer.model.parameterTensors.first { $0.name == name }).offset
    }

    /// A NaN gradient in one tensor at step 5 stops the run before any update, names the step and the
    /// tensor, and leaves the step-4 checkpoint on disk.
    func testNaNGradientStopsAndKeepsCheckpoint() throws {
        let directory = TemporaryDirectory()
        let trainer = try makeTrainer(directory: directory.path, policy: .stop)
        let target = try offset(of: "h.1.attn.c_proj.weight", in: trainer) + 7
        trainer.afterBackward = { gradients, step in if step == 5 { gradients[target] = .nan } }
        var before: [Float] = []
        XCTAssertThrowsError(try trainer.run { report in if report.step == 4 { before = trainer.model.parameters.array } }) { error in
            guard case TrainingError.nonFinite(let message) = error else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(message.contains("step 5"), message)
            XCTAssertTrue(message.contains("h.1.attn.c_proj.weight holds nan at index 7"), message)
            XCTAssertTrue(message.contains("last checkpoint (step 4) was kept"), message)
        }
        XCTAssertEqual(trainer.step, 4)
        XCTAssertEqual(trainer.model.parameters.array, before, "no update was made")
        XCTAssertEqual(try Checkpoints.readPointer(runDirectory: directory.path)?.step, 4)
        let (saved, _) = try ModelDirectory.load(directory.path)
        XCTAssertEqual(saved.parameters.array, before)
    }

    /// A NaN weight poisons the step; the error names the parameter that holds the NaN.
    func testNaNLossNamesTheParameter() throws {
        let directory = TemporaryDirectory()
        let trainer = try makeTrainer(directory: directory.path, policy: .stop)
        trainer.model.parameters[try offset(of: "h.0.mlp.c_fc.bias", in: trainer) + 2] = .nan
        XCTAssertThrowsError(try trainer.run { _ in }) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("step 1: "), message)
            XCTAssertTrue(message.contains("parameter h.0.mlp.c_fc.bias holds nan at index 2"), message)
            XCTAssertTrue(message.contains("no checkpoint has been written"), message)
        }
        XCTAssertNil(try Checkpoints.readPointer(runDirectory: directory.path))
    }

    /// With `.skip`, the poisoned step makes no update, is logged as skipped, and training goes on.
    func testSkipPolicySkipsTheBatch() throws {
        let directory = TemporaryDirectory()
        let trainer = try makeTrainer(directory: directory.path, policy: .skip)
        let target = try offset(of: "wte", in: trainer)
        var snapshots: [Int: [Float]] = [:]
        trainer.afterBackward = { gradients, step in
            snapshots[step] = trainer.model.parameters.array
            if step == 3 { gradients[target] = .infinity }
        }
        var skipped: [Int: String] = [:]
        try trainer.run { report in if let reason = report.skipped { skipped[report.step] = reason } }
        XCTAssertEqual(trainer.step, 8)
        XCTAssertEqual(Array(skipped.keys), [3])
        XCTAssertTrue(skipped[3]?.contains("gradient of wte holds inf at index 0") ?? false, "\(skipped)")
        XCTAssertEqual(snapshots[3], snapshots[4], "the skipped step left the parameters alone")
        XCTAssertNotEqual(snapshots[4], snapshots[5])
        XCTAssertNil(Trainer.firstNonFinite(trainer.model.parameters, tensors: trainer.model.parameterTensors))
        let log = try TextFile.read(directory.file(Trainer.metricsFile))
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("\"skipped\"") }.count, 1)
    }

    /// A run that is non-finite at every step stops after `maxConsecutiveSkips` even when skipping.
    func testSkipPolicyGivesUpWhenEveryStepIsBad() throws {
        let directory = TemporaryDirectory()
        let trainer = try makeTrainer(directory: directory.path, policy: .skip)
        trainer.afterBackward = { gradients, _ in gradients[0] = .nan }
        XCTAssertThrowsError(try {
            for _ in 0..<(NonFinitePolicy.maxConsecutiveSkips + 1) { _ = try trainer.trainStep() }
        }()) { XCTAssertTrue("\($0)".contains("in a row"), "\($0)") }
    }
}
