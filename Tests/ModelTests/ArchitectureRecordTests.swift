import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import XCTest

/// The architecture is recorded in config.json and decides what loads: `loadLanguageModel` gives back the
/// model that was saved, `load` (the GPT-only commands) refuses an LSTM with one line.
final class ArchitectureRecordTests: XCTestCase {
    func makeLSTM() throws -> (LSTM, CharTokenizer) {
        let tokenizer = try CharTokenizer(corpus: "abcdefg")
        var generator = SeededGenerator(seed: 11)
        let config = ModelConfig(vocabularySize: 7, contextLength: 5, layers: 2, heads: 1, width: 8, architecture: .lstm)
        return (try LSTM(config: config, generator: &generator), tokenizer)
    }

    func testLSTMRoundTripsWithItsArchitecture() throws {
        let directory = TemporaryDirectory()
        let (model, tokenizer) = try makeLSTM()
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: directory.path)
        XCTAssertTrue(try TextFile.read(directory.file(ModelDirectory.configFile)).contains("\"architecture\" : \"lstm\""))
        XCTAssertEqual(try ModelDirectory.loadConfig(directory.path).architecture, .lstm)
        let (loaded, _) = try ModelDirectory.loadLanguageModel(directory.path)
        let lstm = try XCTUnwrap(loaded as? LSTM)
        XCTAssertEqual(lstm.config, model.config)
        XCTAssertEqual(lstm.parameters.array, model.parameters.array)
        try model.forward(tokens: [1, 2, 3], targets: nil, batch: 1, time: 3)
        try lstm.forward(tokens: [1, 2, 3], targets: nil, batch: 1, time: 3)
        XCTAssertEqual(Array(model.logits(row: 2)), Array(lstm.logits(row: 2)))

        XCTAssertThrowsError(try ModelDirectory.load(directory.path)) { error in
            XCTAssertTrue("\(error)".contains("this is an LSTM model; only GPT (Transformer) models work here"), "\(error)")
        }
    }

    /// A GPT records "gpt"; a config written before the field existed loads as a GPT; an unknown name is refused.
    func testGPTRecordAndOlderConfigs() throws {
        let directory = TemporaryDirectory()
        var generator = SeededGenerator(seed: 3)
        let gpt = try GPT(config: ModelConfig(vocabularySize: 7, contextLength: 5, layers: 1, heads: 2, width: 8), generator: &generator)
        try ModelDirectory.save(model: gpt, tokenizer: try CharTokenizer(corpus: "abcdefg"), to: directory.path)
        let path = directory.file(ModelDirectory.configFile)
        let written = try TextFile.read(path)
        XCTAssertTrue(written.contains("\"architecture\" : \"gpt\""))
        XCTAssertTrue(try ModelDirectory.loadLanguageModel(directory.path).model is GPT)

        try AtomicFile.write(written.replacingOccurrences(of: "\"architecture\" : \"gpt\",", with: ""), to: path)
        XCTAssertFalse(try TextFile.read(path).contains("architecture"))
        XCTAssertEqual(try ModelDirectory.load(directory.path).model.config, gpt.config)

        try AtomicFile.write(written.replacingOccurrences(of: "\"gpt\"", with: "\"rwkv\""), to: path)
        XCTAssertThrowsError(try ModelDirectory.loadConfig(directory.path)) { error in
            XCTAssertTrue("\(error)".contains("architecture \"rwkv\""), "\(error)")
        }
    }

    /// Weights of one architecture under a config naming the other are refused by name, not misread.
    func testWeightsOfTheOtherArchitectureAreRefused() throws {
        let directory = TemporaryDirectory()
        let (model, tokenizer) = try makeLSTM()
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: directory.path)
        let path = directory.file(ModelDirectory.configFile)
        let gptConfig = try TextFile.read(path).replacingOccurrences(of: "\"lstm\"", with: "\"gpt\"")
            .replacingOccurrences(of: "\"heads\" : 1", with: "\"heads\" : 2")
        try AtomicFile.write(gptConfig, to: path)
        XCTAssertThrowsError(try ModelDirectory.loadLanguageModel(directory.path)) { error in
            XCTAssertTrue("\(error)".contains("is missing"), "\(error)")
        }
    }
}
