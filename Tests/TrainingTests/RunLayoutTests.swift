import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

final class RunLayoutTests: XCTestCase {
    let corpus = String(repeating: "a stitch in time saves nine; look before you leap. ", count: 30)

    func makeTrainer(_ directory: String) throws -> Trainer {
        let tokenizer = try CharTokenizer(corpus: corpus)
        var config = TrainConfig()
        config.steps = 6
        config.batchSize = 2
        config.evalEvery = 3
        config.evalBatches = 1
        let shape = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 8, layers: 1, heads: 2, width: 8)
        let data = try TrainingData(tokens: try tokenizer.encode(corpus).map(Int32.init), validationFraction: 0.1, contextLength: 8)
        return try Trainer(modelConfig: shape, tokenizer: tokenizer, data: data, config: config, runDirectory: directory)
    }

    /// A run directory from before checkpoints/ (the four files at top level, no pointer) still resumes,
    /// and its next checkpoint uses the new layout.
    func testRunWithTheOldFlatLayoutResumes() throws {
        let directory = TemporaryDirectory()
        let first = try makeTrainer(directory.path)
        try first.run(stopAt: 3) { _ in }
        let checkpoint = try Checkpoints.resolve(directory.path)
        for name in [ModelDirectory.configFile, ModelDirectory.weightsFile, ModelDirectory.tokenizerFile, Trainer.stateFile] {
            try FileManager.default.moveItem(atPath: checkpoint + "/" + name, toPath: directory.file(name))
        }
        try FileManager.default.removeItem(atPath: directory.file(Checkpoints.pointerFile))
        try FileManager.default.removeItem(atPath: directory.file(Checkpoints.subdirectory))

        let resumed = try Trainer.resume(runDirectory: directory.path, data: first.data)
        XCTAssertEqual(resumed.step, 3)
        XCTAssertEqual(resumed.model.parameters.array, first.model.parameters.array)
        try resumed.run { _ in }
        XCTAssertEqual(try Checkpoints.readPointer(runDirectory: directory.path)?.step, 6)
        XCTAssertEqual(try ModelDirectory.load(directory.path).model.parameters.array, resumed.model.parameters.array)
    }
}
