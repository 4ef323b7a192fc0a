import Foundation
import TestSupport
import XCTest

/// Runs the `minigpt` binary that SwiftPM built beside the test bundle, the way a user would.
struct CommandResult {
    var status: Int32
    var exitedNormally: Bool
    var stdout: String
    var stderr: String
}

func runMinigpt(_ arguments: [String], input: String? = nil) throws -> CommandResult {
    // The test runner lives in the build products directory, beside the `minigpt` it was built with.
    let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let binary = runner.deletingLastPathComponent().appendingPathComponent("minigpt")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), inp = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inp
    try process.run()
    if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
    try inp.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                         stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

extension XCTestCase {
    /// Bad input ends with a one-line "Error: ..." naming the problem and a non-zero exit, never a trap.
    func assertCleanFailure(_ arguments: [String], mentions expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runMinigpt(arguments)
        XCTAssertTrue(result.exitedNormally, "terminated by a signal: \(result.stderr)", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(lines.first?.hasPrefix("Error: ") ?? false, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(expected), "expected '\(expected)' in: \(result.stderr)", file: file, line: line)
        XCTAssertFalse(result.stderr.contains("Fatal error"), file: file, line: line)
    }
}

final class CommandLineTests: XCTestCase {
    func testTrainRejectsBadInput() throws {
        let directory = TemporaryDirectory()
        let tiny = directory.write("just a few characters", to: "tiny.txt")
        let empty = directory.write("", to: "empty.txt")
        let out = directory.file("run")
        try assertCleanFailure(["train", "--corpus", directory.file("missing.txt"), "--out", out], mentions: "not found")
        try assertCleanFailure(["train", "--corpus", empty, "--out", out], mentions: "empty")
        try assertCleanFailure(["train", "--corpus", tiny, "--out", out], mentions: "too short for context 64")
        try assertCleanFailure(["train", "--corpus", tiny, "--width", "130", "--heads", "4"], mentions: "not divisible")
        try assertCleanFailure(["train", "--corpus", tiny, "--layers", "0"], mentions: "layers must be positive")
        try assertCleanFailure(["train", "--corpus", tiny, "--batch=-3"], mentions: "--batch must be positive")
        try assertCleanFailure(["train", "--corpus", tiny, "--lr=-1"], mentions: "--lr")
        try assertCleanFailure(["train", "--corpus", tiny, "--threads", "0"], mentions: "--threads")
        try assertCleanFailure(["train", "--corpus", tiny, "--batch", "-3"], mentions: "Missing value for '--batch")
    }

    func testEvalRejectsBadInput() throws {
        let directory = TemporaryDirectory()
        let text = directory.write("hello", to: "text.txt")
        try assertCleanFailure(["eval", "--model", directory.file("nope"), "--data", text], mentions: "no such directory")
        try assertCleanFailure(["eval", "--model", directory.path, "--data", text], mentions: "config.json")
    }

    /// Train briefly, then evaluate and refuse to overwrite the run.
    func testTrainThenEvaluate() throws {
        let directory = TemporaryDirectory()
        let corpus = directory.write(String(repeating: "to be or not to be, that is the question. ", count: 30), to: "corpus.txt")
        let run = directory.file("run")
        let common = ["--corpus", corpus, "--layers", "1", "--heads", "2", "--width", "16", "--context", "16",
                      "--batch", "2", "--eval-every", "5", "--eval-batches", "1", "--out", run]
        let trained = try runMinigpt(["train", "--steps", "5"] + common)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stderr.contains("parameters"), trained.stderr)
        XCTAssertTrue(trained.stderr.contains("step 5/5"), trained.stderr)
        for file in ["checkpoint.json", "metrics.jsonl"] + ["model.safetensors", "config.json", "tokenizer.json",
                                                           "training_state.safetensors"].map({ "checkpoints/step-00000005/" + $0 }) {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + file), file)
        }
        try assertCleanFailure(["train", "--steps", "5"] + common, mentions: "already holds a run")
        let evaluated = try runMinigpt(["eval", "--model", run, "--data", corpus])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.contains("nats/token"), evaluated.stdout)
        try assertCleanFailure(["eval", "--model", run, "--data", directory.write("XYZ", to: "other.txt")], mentions: "\"X\"")

        // Generation: the same seed gives the same text; the prompt is echoed; bad options are refused.
        let sample = ["generate", "--model", run, "--prompt", "to be", "--max-new-tokens", "20", "--seed", "7"]
        let first = try runMinigpt(sample), second = try runMinigpt(sample)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, second.stdout)
        XCTAssertTrue(first.stdout.hasPrefix("to be"), first.stdout)
        XCTAssertGreaterThan(first.stdout.count, "to be".count)
        try assertCleanFailure(["generate", "--model", run, "--prompt", "Zebra"], mentions: "\"Z\"")
        try assertCleanFailure(["generate", "--model", run, "--prompt", String(repeating: "to be ", count: 5)], mentions: "longer than the model's context")
        try assertCleanFailure(["generate", "--model", run, "--top-p", "0"], mentions: "top-p")
        try assertCleanFailure(["generate", "--model", run, "--temperature=-1"], mentions: "temperature")
        try assertCleanFailure(["generate", "--model", run, "--max-new-tokens", "0"], mentions: "--max-new-tokens")
    }

    /// BPE end to end: train a vocabulary, prepare a token file, train on it, generate.
    func testTrainOnPreparedTokenFile() throws {
        let directory = TemporaryDirectory()
        let shakespeare = try String(contentsOfFile: packageRoot() + "/Corpora/shakespeare9.txt", encoding: .utf8)
        let corpus = directory.write(String(shakespeare.prefix(20_000)), to: "c.txt")
        let tokenizer = directory.file("tok.json"), tokens = directory.file("c.bin"), run = directory.file("run")
        XCTAssertEqual(try runMinigpt(["tokenizer", "train", "--input", corpus, "--vocab-size", "300", "--out", tokenizer]).status, 0)
        XCTAssertEqual(try runMinigpt(["tokenizer", "prepare", "--tokenizer", tokenizer, "--input", corpus, "--out", tokens]).status, 0)
        let shape = ["--layers", "1", "--heads", "2", "--width", "16", "--context", "8", "--batch", "2", "--eval-every", "3",
                     "--eval-batches", "1", "--steps", "3"]
        try assertCleanFailure(["train", "--corpus", tokens, "--out", run] + shape, mentions: "--tokenizer")
        let trained = try runMinigpt(["train", "--corpus", tokens, "--tokenizer", tokenizer, "--out", run] + shape)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stderr.contains("vocab 300"), trained.stderr)
        let generated = try runMinigpt(["generate", "--model", run, "--prompt", "HAMLET", "--max-new-tokens", "5"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertTrue(generated.stdout.hasPrefix("HAMLET"))
        // A token file made with another vocabulary is refused.
        let other = directory.file("other.json")
        XCTAssertEqual(try runMinigpt(["tokenizer", "train", "--input", corpus, "--vocab-size", "320", "--out", other]).status, 0)
        try assertCleanFailure(["train", "--corpus", tokens, "--tokenizer", other, "--out", directory.file("run2")] + shape,
                               mentions: "vocabulary of 300 tokens")
    }

    /// A directory prepared into one token file; eval scores a token file exactly as the text it came from;
    /// --full-val scores the whole held-out split at the end of a run.
    func testPrepareDirectoryEvalTokenFileAndFullValidation() throws {
        let directory = TemporaryDirectory()
        let shakespeare = try String(contentsOfFile: packageRoot() + "/Corpora/shakespeare9.txt", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory.file("docs"), withIntermediateDirectories: true)
        let first = directory.write(String(shakespeare.prefix(12_000)), to: "docs/a.txt")
        _ = directory.write(String(shakespeare.dropFirst(12_000).prefix(8_000)), to: "docs/b.txt")
        let tokenizer = directory.file("tok.json"), run = directory.file("run")
        XCTAssertEqual(try runMinigpt(["tokenizer", "train", "--input", first, "--vocab-size", "300", "--out", tokenizer]).status, 0)
        let prepared = try runMinigpt(["tokenizer", "prepare", "--tokenizer", tokenizer, "--input", directory.file("docs"),
                                       "--out", directory.file("docs.bin"), "--threads", "2"])
        XCTAssertEqual(prepared.status, 0, prepared.stderr)
        XCTAssertTrue(prepared.stdout.contains("in 2 files"), prepared.stdout)
        let trained = try runMinigpt(["train", "--corpus", directory.file("docs.bin"), "--tokenizer", tokenizer, "--out", run, "--layers", "1",
                                      "--heads", "2", "--width", "16", "--context", "8", "--batch", "2", "--steps", "2", "--full-val"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stderr.contains("over the whole held-out split"), trained.stderr)
        XCTAssertEqual(try runMinigpt(["tokenizer", "prepare", "--tokenizer", tokenizer, "--input", first, "--out", directory.file("a.bin")]).status, 0)
        let fromText = try runMinigpt(["eval", "--model", run, "--data", first])
        let fromTokens = try runMinigpt(["eval", "--model", run, "--data", directory.file("a.bin")])
        XCTAssertEqual(fromText.status, 0, fromText.stderr)
        XCTAssertTrue(fromText.stdout.contains("nats/token"), fromText.stdout)
        XCTAssertEqual(fromText.stdout, fromTokens.stdout)
    }

    /// GPT-2's shipped vocabulary through the CLI: the ids tiktoken gives, and back to the same bytes.
    func testTokenizerEncodeDecodeWithGPT2Vocabulary() throws {
        let vocabulary = packageRoot() + "/Models/gpt2-tokenizer"
        let encoded = try runMinigpt(["tokenizer", "encode", "--tokenizer", vocabulary], input: "Hello, world\n")
        XCTAssertEqual(encoded.status, 0, encoded.stderr)
        XCTAssertEqual(encoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "15496 11 995 198")
        let decoded = try runMinigpt(["tokenizer", "decode", "--tokenizer", vocabulary], input: "15496 11 995 198")
        XCTAssertEqual(decoded.stdout, "Hello, world\n")
        // Special-token text is ordinary text unless the caller opts in.
        let plain = try runMinigpt(["tokenizer", "encode", "--tokenizer", vocabulary], input: "<|endoftext|>")
        XCTAssertNotEqual(plain.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "50256")
        let special = try runMinigpt(["tokenizer", "encode", "--tokenizer", vocabulary, "--allow-special"], input: "<|endoftext|>")
        XCTAssertEqual(special.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "50256")
        let bad = try runMinigpt(["tokenizer", "decode", "--tokenizer", vocabulary], input: "50257")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.hasPrefix("Error: ") && bad.stderr.contains("50257"), bad.stderr)
    }
}
