import Core
import Foundation
import TestSupport
import XCTest

/// `train --arch lstm` end to end: the model directory says lstm, generate and eval run it, resume continues
/// it, and the Transformer-only commands refuse it with one line.
final class ArchitectureCommandTests: XCTestCase {
    func testLSTMRunGeneratesAndIsRefusedWhereItDoesNotApply() throws {
        let directory = TemporaryDirectory()
        let corpus = directory.write(String(repeating: "to be or not to be, that is the question. ", count: 30), to: "corpus.txt")
        let run = directory.file("run")
        let train = ["train", "--corpus", corpus, "--arch", "lstm", "--layers", "1", "--width", "16", "--context", "16",
                     "--batch", "4", "--steps", "6", "--eval-every", "3", "--eval-batches", "1", "--threads", "1", "--out", run]
        let trained = try runMinigpt(train)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stderr.contains("model: LSTM, 1 layers"), trained.stderr)
        let pointer = try TextFile.read(run + "/checkpoint.json")
        XCTAssertTrue(pointer.contains("step-00000006"))
        XCTAssertTrue(try TextFile.read(run + "/checkpoints/step-00000006/config.json").contains("\"architecture\" : \"lstm\""))

        // Longer than the training context: an LSTM's state is not bounded by it.
        let prompt = String(repeating: "to be ", count: 5)
        let generated = try runMinigpt(["generate", "--model", run, "--prompt", prompt, "--max-new-tokens", "10", "--seed", "3"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertTrue(generated.stdout.hasPrefix(prompt))
        XCTAssertGreaterThan(generated.stdout.count, prompt.count)
        let evaluated = try runMinigpt(["eval", "--model", run, "--data", corpus])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.hasPrefix("loss "), evaluated.stdout)

        let more = train.map { $0 == "6" ? "8" : $0 }
        let resumed = try runMinigpt(["train", "--corpus", corpus, "--resume", run, "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming"), resumed.stderr)
        try assertCleanFailure(more + ["--resume", run], mentions: "--arch comes from the model directory")

        try assertCleanFailure(["chat", "--model", run], mentions: "this is an LSTM model")
        try assertCleanFailure(["export", "hf", "--model", run, "--out", directory.file("hf")], mentions: "this is an LSTM model")
        try assertCleanFailure(["generate", "--model", run, "--weights", "int8"], mentions: "GPT models")
        try assertCleanFailure(["train", "--corpus", corpus, "--arch", "rnn"], mentions: "rnn")
    }

    /// The comparison runs end to end at its tiny setting and writes its report, data and four figures.
    func testCompareArchQuickWritesItsReport() throws {
        let directory = TemporaryDirectory()
        let out = directory.file("compare")
        let result = try runMinigpt(["bench", "compare-arch", "--quick", "--seconds", "1", "--probe-seconds", "1",
                                     "--corpus", packageRoot() + "/Corpora/song100.txt", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("| GPT (Transformer) | 2 x 32 |"), result.stdout)
        XCTAssertTrue(result.stdout.contains("| LSTM | 1 x "), result.stdout)
        for name in ["report.md", "results.json", "loss_vs_time.svg", "loss_vs_tokens.svg", "loss_by_position.svg", "long_range_probe.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), name)
        }
        XCTAssertTrue(try TextFile.read(out + "/loss_by_position.svg").contains("LSTM"))
        try assertCleanFailure(["bench", "compare-arch", "--quick", "--seconds", "0"], mentions: "positive")
    }
}
