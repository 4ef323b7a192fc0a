import Core
import Foundation
import Model
import TestSupport
import XCTest

/// What a user gets from hostile standard streams, a second writer, `--resume` with other settings and
/// writers aimed at existing files: one error line and a non-zero status, never a trap or lost work.
final class ReliabilityTests: XCTestCase {
    let corpus = String(repeating: "to be or not to be, that is the question.\n", count: 40)
    let shape = ["--layers", "1", "--heads", "2", "--width", "16", "--context", "16", "--batch", "2", "--eval-every", "2",
                 "--eval-batches", "1", "--threads", "1"]

    /// Runs the binary through /bin/sh, so the test can redirect or close its standard streams.
    func runInShell(_ arguments: [String], redirections: String) throws -> CommandResult {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("minigpt")
        return try runProcess("/bin/sh", ["-c", "exec \"$0\" \"$@\" \(redirections)", binary.path] + arguments)
    }

    func runProcess(_ executable: String, _ arguments: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                             stdout: "", stderr: String(decoding: stderr, as: UTF8.self))
    }

    func assertOneErrorLine(_ result: CommandResult, mentions expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(result.exitedNormally, result.stderr, file: file, line: line)
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
        XCTAssertEqual(errors.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)", file: file, line: line)
    }

    func testStandardStreamErrorsAreOneLine() throws {
        let directory = TemporaryDirectory()
        let text = directory.write(corpus, to: "corpus.txt")
        let tokenizer = directory.file("tokenizer.json")
        XCTAssertEqual(try runMinigpt(["tokenizer", "train", "--input", text, "--vocab-size", "270", "--out", tokenizer]).status, 0)
        let estimate = ["estimate", "--params", "1M", "--tokens", "1B"]
        assertOneErrorLine(try runInShell(estimate, redirections: "> /dev/full"), mentions: "cannot write to standard output")
        assertOneErrorLine(try runInShell(estimate, redirections: ">&-"), mentions: "standard output")
        assertOneErrorLine(try runInShell(["tokenizer", "encode", "--tokenizer", tokenizer], redirections: "<&-"), mentions: "standard input is closed")
        assertOneErrorLine(try runInShell(["tokenizer", "decode", "--tokenizer", tokenizer], redirections: "< /"), mentions: "standard input is a directory")
        // A reader that goes away ends the writer like `yes | head`: by SIGPIPE, with nothing on stderr.
        let piped = try runProcess("/bin/sh", ["-c", "\"$0\" estimate --params 1M --tokens 1B 2>\"$1\" | head -c 1 > /dev/null; cat \"$1\"",
                                               URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
                                                   .appendingPathComponent("minigpt").path, directory.file("stderr")])
        XCTAssertFalse(piped.stderr.contains("Error"), piped.stderr)
    }

    func testRunDirectoryLockResumeAndMoreSteps() throws {
        let directory = TemporaryDirectory()
        let text = directory.write(corpus, to: "corpus.txt")
        let run = directory.file("run")
        do {
            let lock = try RunLock(directory: run)
            try assertCleanFailure(["train", "--corpus", text, "--steps", "2", "--out", run] + shape, mentions: "pid \(getpid())")
            withExtendedLifetime(lock) {}
        }
        let trained = try runMinigpt(["train", "--corpus", text, "--steps", "2", "--out", run] + shape)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        // The original command plus --resume is fine; a changed setting is named and refused.
        try assertCleanFailure(["train", "--corpus", text, "--resume", run, "--lr", "0.5"], mentions: "--lr 0.5 (the run has 0.001)")
        try assertCleanFailure(["train", "--corpus", text, "--resume", run, "--steps", "1"], mentions: "more than the 2 steps")
        let same = try runMinigpt(["train", "--corpus", text, "--steps", "2", "--out", run, "--resume", run] + shape)
        XCTAssertEqual(same.status, 0, same.stderr)
        // A finished run continues for more steps.
        let more = try runMinigpt(["train", "--corpus", text, "--resume", run, "--steps", "4", "--threads", "1"])
        XCTAssertEqual(more.status, 0, more.stderr)
        let pointer = try TextFile.read(run + "/" + Checkpoints.pointerFile)
        XCTAssertTrue(pointer.contains("\"step\":4") || pointer.contains("\"step\" : 4"), pointer)
    }

    func testWritersRefuseToOverwriteAndPatternTravelsThroughTiktoken() throws {
        let directory = TemporaryDirectory()
        let text = directory.write(corpus, to: "corpus.txt")
        let tokenizer = directory.file("tokenizer.json")
        XCTAssertEqual(try runMinigpt(["tokenizer", "train", "--input", text, "--vocab-size", "270", "--pattern", "gpt2-digits",
                                       "--out", tokenizer]).status, 0)
        let before = try AtomicFile.read(tokenizer)
        try assertCleanFailure(["tokenizer", "train", "--input", text, "--vocab-size", "280", "--out", tokenizer], mentions: "already exists")
        try assertCleanFailure(["tokenizer", "prepare", "--tokenizer", tokenizer, "--input", text, "--out", text], mentions: "already exists")
        XCTAssertEqual(try AtomicFile.read(tokenizer), before)
        let tiktoken = directory.file("t.tiktoken")
        let exported = try runMinigpt(["tokenizer", "export", "--tokenizer", tokenizer, "--out", tiktoken])
        XCTAssertTrue(exported.stdout.contains("--pattern gpt2-digits"), exported.stdout)
        try assertCleanFailure(["tokenizer", "import", "--tiktoken", tiktoken, "--out", directory.file("back.json")], mentions: "needs --pattern")
        try assertCleanFailure(["tokenizer", "export", "--tokenizer", tokenizer, "--out", tiktoken], mentions: "already exists")
    }

    func testTrainAcceptsAGPT2TokenizerDirectory() throws {
        let directory = TemporaryDirectory()
        let text = directory.write(corpus, to: "corpus.txt")
        let trained = try runMinigpt(["train", "--corpus", text, "--tokenizer", packageRoot() + "/Models/gpt2-tokenizer", "--steps", "1",
                                      "--out", directory.file("run"), "--layers", "1", "--heads", "1", "--width", "8", "--context", "8",
                                      "--batch", "1", "--eval-every", "1", "--eval-batches", "1", "--threads", "1"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
    }
}
