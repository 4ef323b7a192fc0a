import Foundation
import TestSupport
import XCTest

final class InteropCommandTests: XCTestCase {
    /// train -> export hf -> import hf gives a model that generates the same text, and fine-tunes with --init-from.
    func testExportImportAndFineTune() throws {
        let directory = TemporaryDirectory()
        let corpus = directory.write(String(repeating: "to be or not to be, that is the question. ", count: 30), to: "corpus.txt")
        let run = directory.file("run"), hf = directory.file("hf"), imported = directory.file("imported")
        let trained = try runMinigpt(["train", "--corpus", corpus, "--layers", "1", "--heads", "2", "--width", "16", "--context", "16",
                                      "--batch", "2", "--steps", "3", "--eval-every", "3", "--eval-batches", "1", "--out", run])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let exported = try runMinigpt(["export", "hf", "--model", run, "--out", hf])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertTrue(exported.stderr.contains("GPT2LMHeadModel"), exported.stderr)
        let done = try runMinigpt(["import", "hf", "--from", hf, "--out", imported])
        XCTAssertEqual(done.status, 0, done.stderr)
        let sample = ["--prompt", "to be", "--max-new-tokens", "15", "--seed", "9"]
        let original = try runMinigpt(["generate", "--model", run] + sample)
        let roundTrip = try runMinigpt(["generate", "--model", imported] + sample)
        XCTAssertEqual(original.status, 0, original.stderr)
        XCTAssertEqual(roundTrip.stdout, original.stdout)

        let tuned = try runMinigpt(["train", "--corpus", corpus, "--init-from", imported, "--batch", "2", "--steps", "2",
                                    "--eval-every", "2", "--eval-batches", "1", "--out", directory.file("tuned")])
        XCTAssertEqual(tuned.status, 0, tuned.stderr)
        XCTAssertTrue(tuned.stderr.contains("1 layers, 2 heads, width 16, context 16"), tuned.stderr)

        // The transformers-made GPT-2 fixture (byte-level BPE) imports, generates and fine-tunes too.
        let gpt2 = directory.file("gpt2")
        let fixture = packageRoot() + "/Tests/InteropTests/Fixtures/hf-gpt2-tiny"
        let importedGPT2 = try runMinigpt(["import", "hf", "--from", fixture, "--out", gpt2])
        XCTAssertEqual(importedGPT2.status, 0, importedGPT2.stderr)
        XCTAssertTrue(importedGPT2.stderr.contains("vocabulary 297"), importedGPT2.stderr)
        let generated = try runMinigpt(["generate", "--model", gpt2, "--prompt", "the quick", "--max-new-tokens", "10"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertTrue(generated.stdout.hasPrefix("the quick"), generated.stdout)
        let tunedGPT2 = try runMinigpt(["train", "--corpus", corpus, "--init-from", gpt2, "--batch", "2", "--steps", "2",
                                        "--eval-every", "2", "--eval-batches", "1", "--out", directory.file("tuned-gpt2")])
        XCTAssertEqual(tunedGPT2.status, 0, tunedGPT2.stderr)

        try assertCleanFailure(["export", "hf", "--model", run, "--out", hf], mentions: "already holds a model")
        try assertCleanFailure(["import", "hf", "--from", directory.file("nope"), "--out", directory.file("x")], mentions: "no such directory")
        try assertCleanFailure(["import", "hf", "--from", run, "--out", directory.file("x")], mentions: "config.json")
        try assertCleanFailure(["train", "--corpus", corpus, "--init-from", imported, "--resume", run], mentions: "not both")
    }
}
