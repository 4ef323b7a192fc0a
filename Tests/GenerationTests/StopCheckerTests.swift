import Generation
import XCTest

/// Feeds `tokens` (id, text) until the checker stops; returns everything emitted and the reason.
private func feed(_ condition: StopCondition, _ tokens: [(Int, String)]) throws -> (text: String, reason: StopReason?, steps: [String]) {
    var checker = try StopChecker(condition)
    var bytes: [UInt8] = []
    var steps: [String] = []
    for (id, text) in tokens {
        let step = checker.next(token: id, text: text)
        bytes += step.emit
        steps.append(String(decoding: step.emit, as: UTF8.self))
        if let reason = step.stop { return (String(decoding: bytes, as: UTF8.self), reason, steps) }
    }
    bytes += checker.flush()
    return (String(decoding: bytes, as: UTF8.self), nil, steps)
}

final class StopCheckerTests: XCTestCase {
    func testStopStringSpanningTokensIsNotEmitted() throws {
        let result = try feed(StopCondition(maxNewTokens: 10, stopStrings: ["\n\n"]),
                             [(1, "Hello"), (2, "\n"), (3, "\nWorld"), (4, "!")])
        XCTAssertEqual(result.text, "Hello")
        XCTAssertEqual(result.reason, .stopString("\n\n"))
        // "\n" is held back after token 2 because it may start the stop string.
        XCTAssertEqual(result.steps, ["Hello", "", ""])
    }

    func testHeldBackTextIsReleasedWhenItIsNotAStop() throws {
        let result = try feed(StopCondition(maxNewTokens: 10, stopStrings: ["bcd"]), [(1, "xab"), (2, "cy"), (3, "z")])
        XCTAssertEqual(result.steps, ["xa", "bcy", "z"])
        XCTAssertEqual(result.text, "xabcyz")
        XCTAssertNil(result.reason)
    }

    func testStopStringInsideOneTokenKeepsTheTextBeforeIt() throws {
        let result = try feed(StopCondition(maxNewTokens: 10, stopStrings: [" END"]), [(1, "foo END bar")])
        XCTAssertEqual(result.text, "foo")
        XCTAssertEqual(result.reason, .stopString(" END"))
    }

    func testEarliestStopStringWins() throws {
        let result = try feed(StopCondition(maxNewTokens: 10, stopStrings: ["cd", "bcde", "b"]), [(1, "a"), (2, "bcde")])
        XCTAssertEqual(result.text, "a")
        // "bcde" and "b" both start at offset 1 ("cd" starts later): the one listed first wins.
        XCTAssertEqual(result.reason, .stopString("bcde"))
        let later = try feed(StopCondition(maxNewTokens: 10, stopStrings: ["cd", "abc"]), [(1, "xabcd")])
        XCTAssertEqual(later.text, "x")
        XCTAssertEqual(later.reason, .stopString("abc"))
    }

    func testStopStringSplitInsideAUTF8Character() throws {
        // "é" is C3 A9; a byte-level tokenizer may hand them over as two tokens.
        var checker = try StopChecker(StopCondition(maxNewTokens: 10, stopStrings: ["é"]))
        XCTAssertEqual(checker.next(token: 1, bytes: [0x61, 0xC3]), StopStep(emit: [0x61], stop: nil))
        XCTAssertEqual(checker.next(token: 2, bytes: [0xA9, 0x62]), StopStep(emit: [], stop: .stopString("é")))
    }

    func testEndOfTextStopsAndFlushesHeldText() throws {
        let result = try feed(StopCondition(maxNewTokens: 10, stopStrings: ["abc"], endOfTextID: 0),
                             [(5, "xa"), (0, "<|endoftext|>"), (6, "never")])
        XCTAssertEqual(result.steps, ["x", "a"])
        XCTAssertEqual(result.text, "xa")
        XCTAssertEqual(result.reason, .endOfText)
    }

    func testMaxNewTokensStopsOnTheLastTokenAndFlushes() throws {
        var checker = try StopChecker(StopCondition(maxNewTokens: 3, stopStrings: ["cd"]))
        XCTAssertEqual(checker.next(token: 1, text: "a"), StopStep(emit: Array("a".utf8), stop: nil))
        XCTAssertEqual(checker.next(token: 2, text: "b"), StopStep(emit: Array("b".utf8), stop: nil))
        XCTAssertEqual(checker.next(token: 3, text: "c"), StopStep(emit: Array("c".utf8), stop: .maxNewTokens))
        XCTAssertEqual(checker.tokenCount, 3)
        XCTAssertEqual(checker.stopReason, .maxNewTokens)
        // A stop string completed by the last allowed token is still a stop string.
        let result = try feed(StopCondition(maxNewTokens: 2, stopStrings: ["cd"]), [(1, "c"), (2, "d")])
        XCTAssertEqual(result.reason, .stopString("cd"))
        XCTAssertEqual(result.text, "")
    }

    func testValidation() {
        XCTAssertThrowsError(try StopChecker(StopCondition(maxNewTokens: 0))) { error in
            XCTAssertEqual(String(describing: error), "invalid stop condition: max new tokens must be in 1...1073741824, got 0")
        }
        XCTAssertThrowsError(try StopCondition(maxNewTokens: -5).validate())
        XCTAssertThrowsError(try StopChecker(StopCondition(maxNewTokens: 5, stopStrings: ["ok", ""]))) { error in
            XCTAssertEqual(String(describing: error),
                           "invalid stop condition: stop string 2 is empty; it would stop before the first token")
        }
        XCTAssertThrowsError(try StopCondition(maxNewTokens: 5, endOfTextID: -1).validate())
        XCTAssertNoThrow(try StopCondition(maxNewTokens: 1, stopStrings: ["\n"], endOfTextID: 0).validate())
    }
}
