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
    }
}
