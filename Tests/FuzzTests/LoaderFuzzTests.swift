import Core
import Foundation
import Interop
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

/// Bounded, seeded mutation fuzzing of every file MiniGPT reads. Each campaign starts from valid files,
/// mutates them (see `Mutator`) and requires each outcome to be a successful load or a typed one-line
/// error. `MINIGPT_FUZZ_ITERATIONS` raises the per-loader count for a longer run (default 1000).
/// To add a loader (e.g. `.tiktoken` or encoder.json + vocab.bpe once the BPE tokenizer lands), add a
/// campaign with valid seed files and a closure that loads mutated bytes.
final class LoaderFuzzTests: XCTestCase {
    static let iterations = ProcessInfo.processInfo.environment["MINIGPT_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1000
    static let corpus = String(repeating: "the quick brown fox jumps over the lazy dog.\n", count: 8)

    static func isTyped(_ error: Error) -> Bool {
        error is CoreError || error is TokenizerError || error is ModelError || error is TrainingError || error is InteropError
    }

    /// A finished two-step run: model files, training state, pointer and metrics to mutate.
    func makeRun(_ directory: TemporaryDirectory) throws -> (run: String, checkpoint: String, data: TrainingData) {
        let tokenizer = try CharTokenizer(corpus: Self.corpus)
        var config = TrainConfig()
        config.steps = 2
        config.batchSize = 2
        config.evalEvery = 2
        config.evalBatches = 1
        let shape = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 8, layers: 1, heads: 2, width: 8)
        let data = try TrainingData(tokens: try tokenizer.encode(Self.corpus).map(Int32.init), validationFraction: 0.2, contextLength: 8)
        let trainer = try Trainer(modelConfig: shape, tokenizer: tokenizer, data: data, config: config, runDirectory: directory.file("run"))
        try trainer.run { _ in }
        return (directory.file("run"), try Checkpoints.resolve(directory.file("run")), data)
    }

    /// Plain open/write/close: Foundation's `Data.write` costs milliseconds per call here, which would
    /// dominate the campaigns.
    static func overwrite(_ path: String, with data: Data) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CoreError.writeFailed(path: path, reason: "open failed") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw CoreError.writeFailed(path: path, reason: "short write") }
    }

    /// Runs one campaign: `file` inside `directory` is replaced by each mutated input, then `load` runs.
    func campaign(_ name: String, file path: String, seed: UInt64, iterations: Int = LoaderFuzzTests.iterations,
                  load: () throws -> Void) throws -> FuzzOutcome {
        let original = try AtomicFile.read(path)
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        return fuzz(name, seeds: [original], iterations: iterations, seed: seed, isTyped: Self.isTyped) { input in
            try Self.overwrite(path, with: input)
            try load()
        }
    }

    func testMutatedFilesLoadOrFailWithTypedErrors() throws {
        let directory = TemporaryDirectory(inMemory: true)
        let (run, checkpoint, data) = try makeRun(directory)
        let (model, tokenizer) = try ModelDirectory.load(run)
        let hf = directory.file("hf")
        try HuggingFaceGPT2.export(model: model, tokenizer: tokenizer, to: hf)
        let n = Self.iterations
        var outcomes: [FuzzOutcome] = []

        let weights = try AtomicFile.read(checkpoint + "/" + ModelDirectory.weightsFile)
        outcomes.append(fuzz("safetensors (bytes)", seeds: [weights, try AtomicFile.read(hf + "/model.safetensors")], iterations: n,
                             seed: 1, isTyped: Self.isTyped) { _ = try Safetensors.decode($0, path: "fuzz.safetensors") })
        outcomes.append(try campaign("model.safetensors", file: checkpoint + "/" + ModelDirectory.weightsFile, seed: 2) {
            _ = try ModelDirectory.loadWeights(checkpoint + "/" + ModelDirectory.weightsFile, config: model.config)
        })
        outcomes.append(try campaign("config.json", file: checkpoint + "/" + ModelDirectory.configFile, seed: 3) {
            _ = try ModelDirectory.loadConfig(checkpoint)
        })
        outcomes.append(try campaign("tokenizer.json (char)", file: checkpoint + "/" + ModelDirectory.tokenizerFile, seed: 4) {
            _ = try TokenizerFile.load(checkpoint + "/" + ModelDirectory.tokenizerFile)
        })
        outcomes.append(try campaign("checkpoint.json", file: run + "/" + Checkpoints.pointerFile, seed: 5) {
            _ = try ModelDirectory.load(run)
        })
        outcomes.append(try campaign("training_state.safetensors", file: checkpoint + "/" + Trainer.stateFile, seed: 6, iterations: n / 3) {
            _ = try Trainer.resume(runDirectory: run, data: data)
        })
        outcomes.append(try campaign("metrics.jsonl", file: run + "/" + Trainer.metricsFile, seed: 7, iterations: n / 3) {
            _ = try Trainer.resume(runDirectory: run, data: data)
        })
        let hfConfig = try AtomicFile.read(hf + "/config.json")
        outcomes.append(fuzz("HF config.json", seeds: [hfConfig], iterations: n, seed: 8, isTyped: Self.isTyped) {
            _ = try HuggingFaceConfig.parse($0, path: "config.json")
        })
        outcomes.append(try campaign("HF tokenizer.json (WordLevel)", file: hf + "/tokenizer.json", seed: 9) {
            _ = try HuggingFaceTokenizer.load(directory: hf)
        })
        outcomes.append(try campaign("HF model.safetensors", file: hf + "/model.safetensors", seed: 10) {
            _ = try HuggingFaceGPT2.loadModel(directory: hf)
        })
        let total = outcomes.map(\.inputs).reduce(0, +)
        print((outcomes.map(\.description) + ["total: \(total) inputs"]).joined(separator: "\n"))
        // Every campaign but the metrics log (which resume tolerates line by line) must have been refused sometimes,
        // or the mutations are not reaching the checks.
        for outcome in outcomes where outcome.name != "metrics.jsonl" {
            XCTAssertGreaterThan(outcome.refused, 0, "\(outcome.name): no mutation was refused")
        }
    }

    /// Hand-made hostile inputs the mutations are unlikely to produce.
    func testHostileInputsAreRefused() throws {
        let directory = TemporaryDirectory(inMemory: true)
        let deep = directory.write(String(repeating: "[", count: 100_000), to: "deep.json")
        XCTAssertThrowsError(try TokenizerFile.load(deep))
        let invalidUTF8 = directory.file("bad.json")
        try Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]).write(to: URL(fileURLWithPath: invalidUTF8))
        XCTAssertThrowsError(try TokenizerFile.load(invalidUTF8))
        XCTAssertThrowsError(try HuggingFaceConfig.parse(Data(repeating: 0x20, count: HuggingFaceConfig.maxBytes + 1), path: "big.json")) {
            XCTAssertTrue("\($0)".contains("too large"), "\($0)")
        }
        let config = #"{"format":"minigpt-config","version":1,"vocab_size":9223372036854775807,"context_length":9223372036854775807,"layers":1,"heads":1,"width":9223372036854775807}"#
        let model = directory.file("model")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        _ = directory.write(config, to: "model/config.json")
        XCTAssertThrowsError(try ModelDirectory.loadConfig(model)) { XCTAssertTrue("\($0)".contains("too large"), "\($0)") }
    }
}
