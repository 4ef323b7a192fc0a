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

    /// A tiny model whose BPE tokenizer has the chat tokens: two turns piped in give two replies on stdout;
    /// /reset replays the first reply; a message too long for the context is one error line, the chat goes on,
    /// and the exit status is non-zero.
    func testChatFromAPipe() throws {
        let directory = TemporaryDirectory()
        let corpus = directory.write(String(repeating: "hello there, how are you? fine, thanks. ", count: 40), to: "corpus.txt")
        let tokenizer = directory.file("tokenizer.json")
        var arguments = ["tokenizer", "train", "--input", corpus, "--vocab-size", "290", "--out", tokenizer]
        for name in ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] { arguments += ["--special", name] }
        let made = try runMinigpt(arguments)
        XCTAssertEqual(made.status, 0, made.stderr)
        let run = directory.file("run")
        let trained = try runMinigpt(["train", "--corpus", corpus, "--tokenizer", tokenizer, "--layers", "1", "--heads", "2",
                                      "--width", "16", "--context", "32", "--batch", "2", "--steps", "2", "--eval-every", "2",
                                      "--eval-batches", "1", "--out", run])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let chat = ["chat", "--model", run, "--system", "be kind", "--max-new-tokens", "6", "--seed", "5", "--logit-bias", "10=-inf"]

        let twoTurns = try runMinigpt(chat, input: "hello\nhow are you?\n")
        XCTAssertEqual(twoTurns.status, 0, twoTurns.stderr)
        XCTAssertEqual(try runMinigpt(chat, input: "hello\nhow are you?\n").stdout, twoTurns.stdout, "the same seed replays the chat")
        let reset = try runMinigpt(chat, input: "hello\n/reset\nhello\n/quit\nignored after quit\n")
        XCTAssertEqual(reset.status, 0, reset.stderr)
        let half = reset.stdout.count / 2
        XCTAssertEqual(String(reset.stdout.prefix(half)), String(reset.stdout.suffix(reset.stdout.count - half)), reset.stdout)
        XCTAssertTrue(twoTurns.stdout.hasPrefix(String(reset.stdout.prefix(half))), "the first reply does not depend on what follows")

        let tooLong = try runMinigpt(chat, input: "hello\n" + String(repeating: "zq", count: 40) + "\nfine\n")
        XCTAssertNotEqual(tooLong.status, 0)
        XCTAssertEqual(tooLong.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1, tooLong.stderr)
        XCTAssertTrue(tooLong.stderr.contains("too long"), tooLong.stderr)
        XCTAssertTrue(tooLong.stdout.hasPrefix(String(reset.stdout.prefix(half))), tooLong.stdout)
        XCTAssertGreaterThan(tooLong.stdout.count, half, "the turn after the error is answered")
    }
}
