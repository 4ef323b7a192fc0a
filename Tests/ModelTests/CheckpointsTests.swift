import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import XCTest

final class CheckpointsTests: XCTestCase {
    func makeModel(seed: UInt64) throws -> (GPT, CharTokenizer) {
        var generator = SeededGenerator(seed: seed)
        let config = ModelConfig(vocabularySize: 5, contextLength: 4, layers: 1, heads: 1, width: 4)
        return (try GPT(config: config, generator: &generator), try CharTokenizer(corpus: "abcde"))
    }

    func commit(_ run: String, step: Int, seed: UInt64) throws {
        let (model, tokenizer) = try makeModel(seed: seed)
        try Checkpoints.commit(runDirectory: run, step: step) { try ModelDirectory.save(model: model, tokenizer: tokenizer, to: $0) }
    }

    func testCommitSwitchesThePointerAndKeepsOnePrevious() throws {
        let run = TemporaryDirectory()
        for step in 1...3 { try commit(run.path, step: step, seed: UInt64(step)) }
        XCTAssertEqual(try Checkpoints.readPointer(runDirectory: run.path)?.step, 3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.file("checkpoints")).sorted(),
                       ["step-00000002", "step-00000003"])
        let (loaded, _) = try ModelDirectory.load(run.path)
        XCTAssertEqual(loaded.parameters.array, try makeModel(seed: 3).0.parameters.array)
    }

    /// What a kill leaves behind (a staging directory, a renamed but unnamed step, a failed writer) is
    /// ignored by loading and cleared by the next commit.
    func testLeftoversOfAnInterruptedCommitAreHarmless() throws {
        let run = TemporaryDirectory()
        try commit(run.path, step: 1, seed: 1)
        try FileManager.default.createDirectory(atPath: run.file("checkpoints/.staging-step-00000002-999"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: run.file("checkpoints/step-00000002"), withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: run.file("checkpoints/step-00000002/model.safetensors")))
        struct WriterFailed: Error {}
        XCTAssertThrowsError(try Checkpoints.commit(runDirectory: run.path, step: 3) { _ in throw WriterFailed() })
        let (loaded, _) = try ModelDirectory.load(run.path)
        XCTAssertEqual(loaded.parameters.array, try makeModel(seed: 1).0.parameters.array)
        try commit(run.path, step: 2, seed: 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.file("checkpoints")).sorted(),
                       ["step-00000001", "step-00000002"])
        XCTAssertEqual(try ModelDirectory.load(run.path).model.parameters.array, try makeModel(seed: 2).0.parameters.array)
    }

    func testBadPointersAreRefused() throws {
        let run = TemporaryDirectory()
        try commit(run.path, step: 1, seed: 1)
        let cases = [
            #"{"format":"minigpt-checkpoint","version":1,"step":1,"directory":"../../etc"}"#,
            #"{"format":"minigpt-checkpoint","version":2,"step":1,"directory":"checkpoints/step-00000001"}"#,
            #"{"format":"minigpt-checkpoint","version":1,"step":7,"directory":"checkpoints/step-00000007"}"#,
            #"{"format":"minigpt-checkpoint""#,
        ]
        for text in cases {
            try AtomicFile.write(text, to: run.file(Checkpoints.pointerFile))
            XCTAssertThrowsError(try ModelDirectory.load(run.path), text)
        }
    }
}
