import Foundation
import Tokenizers
import XCTest

/// GPT-2's released vocabulary must give exactly tiktoken's ids (Fixtures/gpt2_ids.json, made by
/// Fixtures/make_fixtures.py with tiktoken built offline from the same encoder.json and vocab.bpe).
final class GPT2CompatibilityTests: XCTestCase {
    func testVocabularyShape() {
        let gpt2 = TestFiles.gpt2
        XCTAssertEqual(gpt2.vocabularySize, 50_257)
        XCTAssertEqual(gpt2.endOfTextID, 50_256)
        XCTAssertEqual(gpt2.pattern, .gpt2)
        XCTAssertEqual(try gpt2.tokenBytes(0), [UInt8(ascii: "!")])
        XCTAssertEqual(try gpt2.tokenBytes(50_256), Array("<|endoftext|>".utf8))
    }

    func testEveryIdEqualsTiktoken() throws {
        let fixture = try XCTUnwrap(try TestFiles.fixture("gpt2_ids.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 60)
        var compared = 0
        for item in cases {
            let text = try XCTUnwrap(item["text"] as? String)
            let expected = try XCTUnwrap(item["ids"] as? [Int])
            let ids = TestFiles.gpt2.encode(text)
            XCTAssertEqual(ids, expected, "text \(text.prefix(80).debugDescription)")
            XCTAssertEqual(try TestFiles.gpt2.decode(ids), text)
            compared += expected.count
        }
        XCTAssertGreaterThan(compared, 5_000)
    }

    func testAllowedSpecialEqualsTiktoken() throws {
        let fixture = try XCTUnwrap(try TestFiles.fixture("gpt2_ids.json") as? [String: Any])
        let special = try XCTUnwrap(fixture["allowed_special"] as? [String: Any])
        let text = try XCTUnwrap(special["text"] as? String)
        let expected = try XCTUnwrap(special["ids"] as? [Int])
        XCTAssertEqual(try TestFiles.gpt2.encode(text, allowedSpecial: ["<|endoftext|>"]), expected)
        XCTAssertEqual(expected.filter { $0 == 50_256 }.count, 3)
    }

    func testSpecialTextIsOrdinaryByDefault() throws {
        let gpt2 = TestFiles.gpt2
        let ids = gpt2.encode("a<|endoftext|>b")
        XCTAssertFalse(ids.contains(50_256))
        XCTAssertEqual(try gpt2.decode(ids), "a<|endoftext|>b")
        XCTAssertEqual(try gpt2.encode("a<|endoftext|>b", allowedSpecial: ["<|endoftext|>"]).filter { $0 == 50_256 }.count, 1)
        XCTAssertEqual(try gpt2.encode("a<|endoftext|>b", allowedSpecial: []), ids)
        assertThrowsTokenizerError("not a special token") { _ = try gpt2.encode("x", allowedSpecial: ["<|fim|>"]) }
    }

    func testTiktokenFileRoundTrip() throws {
        let directory = try TestFiles.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gpt2.tiktoken").path
        try TestFiles.gpt2.saveTiktoken(to: path)
        let loaded = try BPETokenizer.loadTiktoken(path, pattern: .gpt2)
        XCTAssertEqual(loaded.tokens, TestFiles.gpt2.tokens)
        XCTAssertEqual(loaded.endOfTextID, 50_256)
        let text = "Round trip through the .tiktoken format, 中文 too."
        XCTAssertEqual(loaded.encode(text), TestFiles.gpt2.encode(text))
    }

    func testDecodeRejectsOutOfRangeIds() {
        assertThrowsTokenizerError("out of range") { _ = try TestFiles.gpt2.decodeBytes([1, 50_257]) }
        assertThrowsTokenizerError("out of range") { _ = try TestFiles.gpt2.decodeBytes([-1]) }
    }

    func testRoundTripOfArbitraryBytes() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<100 {
            let length = round == 0 ? 5_000 : Int.random(in: 0...200, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(try TestFiles.gpt2.decodeBytes(TestFiles.gpt2.encode(bytes: bytes)), bytes)
        }
    }
}

/// A vocabulary our trainer made with the GPT-4 pattern (Fixtures/trained_gpt4_1000.json) must encode
/// exactly as tiktoken does with the same ranks and pattern (Fixtures/trained_gpt4_ids.json).
final class TrainedVocabularyTiktokenTests: XCTestCase {
    func testEveryIdEqualsTiktokenWithTheGPT4Pattern() throws {
        let tokenizer = try XCTUnwrap(try TokenizerFile.load(TestFiles.path("Tests/TokenizersTests/Fixtures/trained_gpt4_1000.json")) as? BPETokenizer)
        XCTAssertEqual(tokenizer.pattern, .gpt4)
        XCTAssertEqual(tokenizer.vocabularySize, 1000)
        let fixture = try XCTUnwrap(try TestFiles.fixture("trained_gpt4_ids.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 150)
        for item in cases {
            let text = try XCTUnwrap(item["text"] as? String)
            let expected = try XCTUnwrap(item["ids"] as? [Int])
            let ids = tokenizer.encode(text)
            XCTAssertEqual(ids, expected, "text \(text.prefix(80).debugDescription)")
            XCTAssertEqual(try tokenizer.decode(ids), text)
        }
        let special = try XCTUnwrap(fixture["allowed_special"] as? [String: Any])
        let text = try XCTUnwrap(special["text"] as? String)
        XCTAssertEqual(try tokenizer.encode(text, allowedSpecial: Set(tokenizer.specialTokens.keys)), try XCTUnwrap(special["ids"] as? [Int]))
    }

    func testTrainerReproducesTheCommittedFile() throws {
        // The fixture was made by `minigpt tokenizer train` from these two files; training again must give
        // the same vocabulary, token for token (determinism, including the tie-breaking rule).
        let inputs = ["Corpora/song100.txt", "Tests/TokenizersTests/Fixtures/shakespeare_head.txt"]
        let corpus = try inputs.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestFiles.path($0)))) }
        let trained = try BPETrainer.train(corpus: corpus, vocabularySize: 1000, pattern: .gpt4, specialTokens: ["<|pad|>"])
        let committed = try TokenizerFile.load(TestFiles.path("Tests/TokenizersTests/Fixtures/trained_gpt4_1000.json"))
        XCTAssertEqual(trained.tokenizer, committed as? BPETokenizer)
    }
}

/// A tokenizer is shared between threads (Sendable): encoding concurrently must give the same ids.
final class ConcurrentEncodingTests: XCTestCase {
    func testConcurrentEncodesAgree() throws {
        let text = try String(contentsOfFile: TestFiles.path("Corpora/song100.txt"), encoding: .utf8) + " English, it's fine. 12345"
        let gpt2 = TestFiles.gpt2
        let expected = gpt2.encode(text)
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 8)
        defer { results.deallocate() }
        results.initialize(repeating: false)
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            results[index] = gpt2.encode(text) == expected
        }
        XCTAssertEqual(Array(results), Array(repeating: true, count: 8))
    }
}
