import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

/// Training data read from a memory-mapped token file.
final class MappedDataTests: XCTestCase {
    private func writeTokenFile(_ path: String, count: Int, vocabulary: Int, block: Int = 1 << 20) throws {
        let writer = try TokenFileWriter(path: path, vocabularySize: vocabulary)
        var start = 0
        while start < count {
            try writer.append((start..<min(start + block, count)).map { ($0 &* 2_654_435_761) % vocabulary })
            start += block
        }
        try writer.finish(documents: 1)
    }

    /// A mapped file gives the same split, batches and fingerprint as the same ids in memory, so a run
    /// started from text (or an older build) resumes from the token file and draws the same batches.
    func testMappedFileMatchesMemory() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("tokens.bin")
        try writeTokenFile(path, count: 5000, vocabulary: 300)
        let ids = try TokenFile.read(path).ids
        let mapped = try TrainingData(file: try MappedTokenFile(path: path), validationFraction: 0.1, contextLength: 16)
        let memory = try TrainingData(tokens: ids, validationFraction: 0.1, contextLength: 16)
        XCTAssertEqual(mapped.fingerprint, memory.fingerprint)
        XCTAssertEqual(try mapped.validation.ids(0..<mapped.validation.count), Array(ids[4500...]))
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        for _ in 0..<5 {
            let fromFile = try TrainingData.randomBatch(from: mapped.train, batch: 4, time: 16, generator: &a)
            let fromMemory = try TrainingData.randomBatch(from: memory.train, batch: 4, time: 16, generator: &b)
            XCTAssertEqual(fromFile.inputs, fromMemory.inputs)
            XCTAssertEqual(fromFile.targets, fromMemory.targets)
        }
        let other = try TrainingData(tokens: ids.reversed(), validationFraction: 0.1, contextLength: 16)
        XCTAssertNotEqual(other.fingerprint, memory.fingerprint)
    }

    /// A file truncated while training runs makes the next batch throw instead of crashing the process.
    func testTruncatedFileThrows() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("tokens.bin")
        try writeTokenFile(path, count: 10_000, vocabulary: 50)
        let data = try TrainingData(file: try MappedTokenFile(path: path), validationFraction: 0.1, contextLength: 8)
        var generator = SeededGenerator(seed: 1)
        _ = try TrainingData.randomBatch(from: data.train, batch: 2, time: 8, generator: &generator)
        XCTAssertEqual(truncate(path, 1000), 0)
        XCTAssertThrowsError(try TrainingData.randomBatch(from: data.train, batch: 2, time: 8, generator: &generator)) { error in
            XCTAssertTrue("\(error)".contains("shrank"), "\(error)")
        }
    }

    /// Resident memory stays flat: drawing many batches from a mapped 32 MB token file leaves the process
    /// no bigger than drawing them from a tiny one did (reading the file whole, or widening it to Int32,
    /// would add 32-64 MB). The tiny file runs first so that code and buffers paged in once are not counted.
    func testResidentMemoryDoesNotGrowWithTheFile() throws {
        let directory = TemporaryDirectory()
        let tiny = directory.file("tiny.bin"), big = directory.file("big.bin")
        try writeTokenFile(tiny, count: 1000, vocabulary: 50_000)
        try writeTokenFile(big, count: 16 << 20, vocabulary: 50_000)
        func drawBatches(_ path: String) throws -> Int {
            let data = try TrainingData(file: try MappedTokenFile(path: path), validationFraction: 0.1, contextLength: 64)
            var generator = SeededGenerator(seed: 2)
            for _ in 0..<2000 { _ = try TrainingData.randomBatch(from: data.train, batch: 16, time: 64, generator: &generator) }
            return try residentKilobytes()
        }
        let afterTiny = try drawBatches(tiny)
        let afterBig = try drawBatches(big)
        XCTAssertLessThan(afterBig - afterTiny, 4 * 1024, "resident memory: \(afterTiny) kB after the tiny file, \(afterBig) kB after the big one")
    }

    /// The bounded end-of-run evaluation scores `maxBatches` batches of evenly spaced full windows.
    func testBoundedEvaluationSpreadsWindows() throws {
        let config = ModelConfig(vocabularySize: 7, contextLength: 4, layers: 1, heads: 1, width: 8)
        var generator = SeededGenerator(seed: 4)
        let model = try GPT(config: config, generator: &generator)
        let tokens = (0..<41).map { Int32($0 * 5 % 7) }  // 40 predictions: 10 full windows of 4
        let result = try Evaluation.crossEntropy(model: model, tokens: TokenSpan(tokens), batchSize: 2, maxBatches: 1)
        XCTAssertEqual(result.predictedTokens, 8)
        var total = 0.0
        for start in [0, 20] {  // windows 0 and 5 of 10
            let mean = try model.forward(tokens: Array(tokens[start..<(start + 4)]), targets: Array(tokens[(start + 1)...(start + 4)]),
                                         batch: 1, time: 4)!
            total += Double(mean) * 4
        }
        XCTAssertEqual(result.totalNats, total, accuracy: 1e-4)
        let whole = try Evaluation.crossEntropy(model: model, tokens: TokenSpan(tokens), batchSize: 2, maxBatches: 5)
        XCTAssertEqual(whole, try Evaluation.crossEntropy(model: model, tokens: tokens, batchSize: 2), "enough batches: the whole stream")
    }

    private func residentKilobytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try XCTUnwrap(Int(line.split(separator: " ")[1]))
    }
}
