import Foundation
import TestSupport
import XCTest

/// The alignment commands end to end on a tiny model, and their one-line errors on bad input.
final class AlignmentCommandTests: XCTestCase {
    @discardableResult
    func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try runMinigpt(arguments)
        XCTAssertEqual(result.status, 0, "minigpt \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        return result
    }

    func assertError(_ arguments: [String], mentions expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runMinigpt(arguments)
        XCTAssertTrue(result.exitedNormally, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: ") && result.stderr.contains(expected), result.stderr, file: file, line: line)
    }

    func testDataSFTAndRewardEndToEndOnATinyModel() throws {
        let directory = TemporaryDirectory()
        let data = directory.file("data"), base = directory.file("base"), sft = directory.file("sft"), rm = directory.file("rm")
        try run(["data", "instruct", "--seed", "3", "--out", data, "--sft-train", "60", "--pairs-train", "60", "--ppo-prompts", "10",
                 "--held-out-per-family", "2"])
        try run(["tokenizer", "train", "--input", data + "/pretrain.txt", "--vocab-size", "320", "--special", "<|system|>",
                 "--special", "<|user|>", "--special", "<|assistant|>", "--special", "<|end|>", "--out", directory.file("tok.json")])
        try run(["train", "--corpus", data + "/pretrain.txt", "--tokenizer", directory.file("tok.json"), "--layers", "1", "--heads", "2",
                 "--width", "16", "--context", "128", "--batch", "4", "--steps", "5", "--eval-every", "5", "--eval-batches", "1",
                 "--out", base, "--threads", "1"])
        let sftResult = try run(["sft", "--base", base, "--data", data, "--out", sft, "--steps", "10", "--eval-every", "5",
                                 "--max-new-tokens", "4", "--threads", "1"])
        XCTAssertTrue(sftResult.stdout.contains("held-out gold score: base"), sftResult.stdout)
        let rmResult = try run(["reward", "train", "--init", sft, "--data", data, "--out", rm, "--steps", "10", "--eval-every", "5",
                                "--threads", "1"])
        XCTAssertTrue(rmResult.stdout.contains("held-out pairs: accuracy"), rmResult.stdout)
        let score = try run(["reward", "score", "--model", rm, "--prompt", "What is 2 + 3?", "--response", "5"])
        XCTAssertNotNil(Float(score.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), score.stdout)

        // Nothing is overwritten: a second run into the same directory is refused.
        try assertError(["sft", "--base", base, "--data", data, "--out", sft], mentions: "already holds a model")
        try assertError(["data", "instruct", "--out", data], mentions: "already holds instruction data")
        // A missing stage directory, a plain model where a reward model is needed.
        try assertError(["sft", "--base", directory.file("nowhere"), "--data", data, "--out", directory.file("x")], mentions: "nowhere")
        try assertError(["reward", "score", "--model", sft, "--prompt", "a", "--response", "b"], mentions: "reward_head.safetensors")
        // A malformed line is named by number.
        let bad = directory.file("bad")
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        for name in ["sft_val.jsonl", "heldout_prompts.jsonl"] {
            try FileManager.default.copyItem(atPath: data + "/" + name, toPath: bad + "/" + name)
        }
        try (#"{"family":"add","prompt":"What is 1 + 2?","response":"3"}"# + "\n{\"family\":\"add\"}\n")
            .write(toFile: bad + "/sft_train.jsonl", atomically: true, encoding: .utf8)
        try assertError(["sft", "--base", base, "--data", bad, "--out", directory.file("y")], mentions: "sft_train.jsonl line 2: missing field")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("y")))
    }
}
