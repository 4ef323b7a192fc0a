import Foundation
import TestSupport
import XCTest

final class ChatCommandTests: XCTestCase {
    /// One "Error:" line naming the problem and a non-zero exit, never a trap.
    func assertCleanFailure(_ arguments: [String], input: String? = nil, mentions expected: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runMinigpt(arguments, input: input)
        XCTAssertTrue(result.exitedNormally, "terminated by a signal: \(result.stderr)", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        let errorLines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(errorLines.count, 1, "stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error"), file: file, line: line)
    }

    /// A char-level model has no chat tokens: chat says so in one line. Bad sampling flags are refused for
    /// chat as for generate, and generate takes --logit-bias.
    func testChatAndGenerateRefuseBadInput() throws {
        let directory = TemporaryDirectory()
        let corpus = directory.write(String(repeating: "to be or not to be, that is the question. ", count: 30), to: "corpus.txt")
        let run = directory.file("run")
        let trained = try runMinigpt(["train", "--corpus", corpus, "--layers", "1", "--heads", "2", "--width", "16", "--context", "16",
                                      "--batch", "2", "--steps", "2", "--eval-every", "2", "--eval-batches", "1", "--out", run])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        try assertCleanFailure(["chat", "--model", run], input: "hello\n", mentions: "special tokens")
        try assertCleanFailure(["chat", "--model", run, "--top-p", "1.5"], mentions: "top-p")
        try assertCleanFailure(["chat", "--model", run, "--temperature=-0.5"], mentions: "temperature")
        try assertCleanFailure(["chat", "--model", run, "--top-k=-1"], mentions: "top-k")
        try assertCleanFailure(["chat", "--model", run, "--max-new-tokens", "0"], mentions: "--max-new-tokens")
        try assertCleanFailure(["chat", "--model", run, "--system", ""], mentions: "--system")
        try assertCleanFailure(["chat", "--model", directory.file("nope")], mentions: "no such directory")
        try assertCleanFailure(["generate", "--model", run, "--stop", ""], mentions: "--stop")
        try assertCleanFailure(["generate", "--model", run, "--logit-bias", "3"], mentions: "ID=VALUE")
        try assertCleanFailure(["generate", "--model", run, "--logit-bias", "999=1"], mentions: "logit bias names token 999")

        // Greedy with a ban: the banned character never appears in the output.
        let banned = try runMinigpt(["generate", "--model", run, "--prompt", "to", "--temperature", "0", "--max-new-tokens", "40",
                                     "--logit-bias", "0=-inf", "--logit-bias", "1=-inf"])
        XCTAssertEqual(banned.status, 0, banned.stderr)
        let free = try runMinigpt(["generate", "--model", run, "--prompt", "to", "--temperature", "0", "--max-new-tokens", "40"])
        XCTAssertEqual(free.status, 0, free.stderr)
        XCTAssertTrue(banned.stdout.hasPrefix("to"))
        // ids 0 and 1 are the two smallest characters of the corpus: " " and ","
        XCTAssertFalse(banned.stdout.dropFirst(2).contains(" ") || banned.stdout.dropFirst(2).contains(","), banned.stdout)
    }
}
