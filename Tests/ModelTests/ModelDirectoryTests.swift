import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import XCTest

final class ModelDirectoryTests: XCTestCase {
    func makeModel() throws -> (GPT, CharTokenizer) {
        let tokenizer = try CharTokenizer(corpus: "abcdefg")
        var generator = SeededGenerator(seed: 11)
        let model = try GPT(config: ModelConfig(vocabularySize: 7, contextLength: 5, layers: 1, heads: 2, width: 8), generator: &generator)
        return (model, tokenizer)
    }

    func testRoundTripGivesIdenticalLogits() throws {
        let directory = TemporaryDirectory()
        let (model, tokenizer) = try makeModel()
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: directory.path)
        let (loaded, loadedTokenizer) = try ModelDirectory.load(directory.path)
        XCTAssertEqual(loaded.config, model.config)
        XCTAssertEqual(loaded.parameters.array, model.parameters.array)
        XCTAssertEqual(try loadedTokenizer.encode("gab"), [6, 0, 1])
        try model.forward(tokens: [1, 2, 3], batch: 1, time: 3)
        try loaded.forward(tokens: [1, 2, 3], batch: 1, time: 3)
        XCTAssertEqual(Array(model.logits(row: 2)), Array(loaded.logits(row: 2)))
    }

    func testIncompleteOrInconsistentDirectoriesAreRefused() throws {
        let (model, tokenizer) = try makeModel()
        XCTAssertThrowsError(try ModelDirectory.load("/nonexistent/minigpt-model"))
        for missing in [ModelDirectory.configFile, ModelDirectory.weightsFile, ModelDirectory.tokenizerFile] {
            let directory = TemporaryDirectory()
            try ModelDirectory.save(model: model, tokenizer: tokenizer, to: directory.path)
            try FileManager.default.removeItem(atPath: directory.file(missing))
            XCTAssertThrowsError(try ModelDirectory.load(directory.path), "without \(missing)")
        }
        // A tokenizer whose size disagrees with the config.
        let directory = TemporaryDirectory()
        try ModelDirectory.save(model: model, tokenizer: try CharTokenizer(corpus: "abc"), to: directory.path)
        XCTAssertThrowsError(try ModelDirectory.load(directory.path))
        // A config whose shape disagrees with the weights.
        let other = TemporaryDirectory()
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: other.path)
        let config = try TextFile.read(other.file(ModelDirectory.configFile)).replacingOccurrences(of: "\"width\" : 8", with: "\"width\" : 16")
        try AtomicFile.write(config, to: other.file(ModelDirectory.configFile))
        XCTAssertThrowsError(try ModelDirectory.load(other.path)) { XCTAssertTrue("\($0)".contains("shape"), "\($0)") }
    }

    func testNonFiniteWeightsAreRefused() throws {
        let directory = TemporaryDirectory()
        let (model, tokenizer) = try makeModel()
        model.parameters[5] = .nan
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: directory.path)
        XCTAssertThrowsError(try ModelDirectory.load(directory.path)) { XCTAssertTrue("\($0)".contains("non-finite"), "\($0)") }
    }
}
