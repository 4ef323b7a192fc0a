import Foundation
import Tokenizers
import XCTest

/// The hand-written scanners against the chunks Python's `regex` module finds with the patterns themselves
/// (Fixtures/presplit.json, made by Fixtures/make_fixtures.py).
final class PreSplitTests: XCTestCase {
    func testScannersMatchTheRegexOnEveryFixtureText() throws {
        let fixture = try XCTUnwrap(try TestFiles.fixture("presplit.json") as? [String: Any])
        let texts = try XCTUnwrap(fixture["texts"] as? [String])
        XCTAssertGreaterThan(texts.count, 60)
        for pattern in PreSplitPattern.allCases {
            XCTAssertEqual(fixture["\(pattern.rawValue)_pattern"] as? String, pattern.expression)
            let expected = try XCTUnwrap(fixture[pattern.rawValue] as? [[String]])
            XCTAssertEqual(expected.count, texts.count)
            for (text, chunks) in zip(texts, expected) {
                let ours = pattern.chunks(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
                XCTAssertEqual(ours, chunks, "\(pattern) on \(text.debugDescription)")
            }
        }
    }

    func testChunksTileInvalidUTF8() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for pattern in PreSplitPattern.allCases {
                let chunks = pattern.chunks(bytes)
                XCTAssertEqual(Array(chunks.joined()), bytes)
                XCTAssertFalse(chunks.contains { $0.isEmpty })
            }
        }
    }

    func testHandWorkedSplits() {
        func split(_ pattern: PreSplitPattern, _ text: String) -> [String] {
            pattern.chunks(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
        }
        XCTAssertEqual(split(.gpt2, "I'm  here 12345!!"), ["I", "'m", " ", " here", " 12345", "!!"])
        XCTAssertEqual(split(.gpt4, "I'm  here 12345!!"), ["I", "'m", " ", " here", " ", "123", "45", "!!"])
        XCTAssertEqual(split(.gpt4, "a\n\n  b"), ["a", "\n\n", " ", " b"])
        XCTAssertEqual(split(.gpt2, "a\n\n  b"), ["a", "\n\n ", " b"])
        XCTAssertEqual(split(.gpt2Digits, "What is 27 + 35? 100x"), ["What", " is", " 2", "7", " +", " 3", "5", "?", " 1", "0", "0", "x"])
    }

    /// The scanner's \p{L}, \p{N} and \s agree with tiktoken's engine at both ends of every range it has
    /// (Fixtures/unicode_classes.json, probed through tiktoken), observed here through chunking:
    /// "a c c a" is one chunk iff c is a letter, four iff c is whitespace; "1 c 1" is one chunk iff c is a number.
    func testCharacterClassesAtEveryRangeBoundary() throws {
        let fixture = try XCTUnwrap(try TestFiles.fixture("unicode_classes.json") as? [String: Any])
        var ranges: [String: [ClosedRange<UInt32>]] = [:]
        var boundaries = Set<UInt32>()
        for name in ["letter", "number", "whitespace"] {
            let pairs = try XCTUnwrap(fixture[name] as? [[Int]])
            XCTAssertFalse(pairs.isEmpty)
            ranges[name] = pairs.map { UInt32($0[0])...UInt32($0[1]) }
            for pair in pairs {
                for value in [pair[0] - 1, pair[0], pair[1], pair[1] + 1] where value >= 0 && value <= 0x10FFFF { boundaries.insert(UInt32(value)) }
            }
        }
        func isIn(_ name: String, _ value: UInt32) -> Bool { ranges[name]!.contains { $0.contains(value) } }
        var checked = 0
        for value in boundaries.sorted() {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let c = String(scalar)
            let letterCount = PreSplitPattern.gpt2.chunks(Array(("a" + c + c + "a").utf8)).count
            let numberCount = PreSplitPattern.gpt2.chunks(Array(("1" + c + "1").utf8)).count
            let hex = String(format: "U+%04X", value)
            XCTAssertEqual(letterCount == 1, isIn("letter", value), "\(hex) letter")
            // U+0020 joins the following letter (" ?\p{L}+"), so it is the one whitespace that gives 3 chunks.
            XCTAssertEqual(letterCount == 4 || value == 0x20, isIn("whitespace", value), "\(hex) whitespace")
            XCTAssertEqual(numberCount == 1, isIn("number", value), "\(hex) number")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 2_000)
    }

    /// tiktoken (0.14, GPT-4 pattern, ranks = 256 bytes + "ſ", "'ſ", "ſt", "'ſt") encodes "x'ſt" as
    /// [120, 257, 116]: `'ſ` is a contraction chunk (case folding maps ſ to s); "'ſt" as one chunk would give [120, 259].
    func testLongSContractionLikeTiktoken() throws {
        let extra = ["ſ", "'ſ", "ſt", "'ſt"].map { Array($0.utf8) }
        let tokenizer = try BPETokenizer(tokens: (0...255).map { [UInt8($0)] } + extra, specialTokens: [:], pattern: .gpt4)
        XCTAssertEqual(tokenizer.encode("x'ſt"), [120, 257, 116])
    }
}
