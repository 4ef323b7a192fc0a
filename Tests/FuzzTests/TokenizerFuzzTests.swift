import Core
import Foundation
import Interop
import TestSupport
import Tokenizers
import XCTest

/// Mutation campaigns for the byte-level BPE loaders (see LoaderFuzzTests for the harness and the
/// outcome rule). The seed vocabulary is the transformers-made GPT-2 fixture's 297 tokens, small enough
/// that each input loads in well under a millisecond.
final class TokenizerFuzzTests: XCTestCase {
    var tinyGPT2: String { packageRoot() + "/Tests/InteropTests/Fixtures/hf-gpt2-tiny" }

    func testMutatedTokenizerFilesLoadOrFailWithTypedErrors() throws {
        let n = LoaderFuzzTests.iterations
        let directory = TemporaryDirectory(inMemory: true)
        let bpe = try BPETokenizer.loadGPT2(encoderJSON: tinyGPT2 + "/vocab.json", vocabBPE: tinyGPT2 + "/merges.txt")
        let isTyped = LoaderFuzzTests.isTyped
        var outcomes: [FuzzOutcome] = []

        let ownFile = directory.file("tokenizer.json")
        try AtomicFile.write(try bpe.serialized(), to: ownFile)
        outcomes.append(try campaign("BPE tokenizer.json (MiniGPT)", file: ownFile, seed: 21, iterations: n) {
            _ = try TokenizerFile.load(ownFile)
        })
        outcomes.append(fuzz(".tiktoken", seeds: [bpe.tiktokenData()], iterations: n, seed: 22, isTyped: isTyped) {
            _ = try BPETokenizer.tiktoken($0, path: "fuzz.tiktoken", pattern: .gpt2)
        })
        let encoder = directory.file("encoder.json"), merges = directory.file("vocab.bpe")
        try FileManager.default.copyItem(atPath: tinyGPT2 + "/vocab.json", toPath: encoder)
        try FileManager.default.copyItem(atPath: tinyGPT2 + "/merges.txt", toPath: merges)
        outcomes.append(try campaign("encoder.json", file: encoder, seed: 23, iterations: n) {
            _ = try BPETokenizer.loadGPT2(encoderJSON: encoder, vocabBPE: merges)
        })
        outcomes.append(try campaign("vocab.bpe", file: merges, seed: 24, iterations: n) {
            _ = try BPETokenizer.loadGPT2(encoderJSON: encoder, vocabBPE: merges)
        })
        let hf = directory.file("hf")
        try FileManager.default.createDirectory(atPath: hf, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: tinyGPT2 + "/tokenizer.json", toPath: hf + "/tokenizer.json")
        outcomes.append(try campaign("HF tokenizer.json (BPE)", file: hf + "/tokenizer.json", seed: 25, iterations: n) {
            _ = try HuggingFaceTokenizer.load(directory: hf)
        })
        let tokens = directory.file("tokens.bin")
        try TokenFile.write(ids: Array(0..<200).map { $0 % 297 }, vocabularySize: 297, to: tokens)
        outcomes.append(try campaign("token file", file: tokens, seed: 26, iterations: n) { _ = try TokenFile.read(tokens) })

        print((outcomes.map(\.description) + ["total: \(outcomes.map(\.inputs).reduce(0, +)) inputs"]).joined(separator: "\n"))
        for outcome in outcomes { XCTAssertGreaterThan(outcome.refused, 0, "\(outcome.name): no mutation was refused") }
    }

    func campaign(_ name: String, file path: String, seed: UInt64, iterations: Int, load: () throws -> Void) throws -> FuzzOutcome {
        let original = try AtomicFile.read(path)
        defer { try? LoaderFuzzTests.overwrite(path, with: original) }
        return fuzz(name, seeds: [original], iterations: iterations, seed: seed, isTyped: LoaderFuzzTests.isTyped) { input in
            try LoaderFuzzTests.overwrite(path, with: input)
            try load()
        }
    }
}
