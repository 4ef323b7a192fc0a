import Foundation
import Tokenizers
import XCTest

/// MiniGPT's BPE file, the .tiktoken format and the errors for corrupt files.
final class TokenizerFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestFiles.temporaryDirectory() }
    override func tearDownWithError() throws { try FileManager.default.removeItem(at: directory) }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func write(_ text: String, _ name: String) throws -> String {
        let path = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func smallTokenizer() throws -> BPETokenizer {
        try BPETrainer.train(corpus: [Array("the cat sat on the mat with the hat".utf8)], vocabularySize: 270,
                             pattern: .gpt4, specialTokens: ["<|sep|>"]).tokenizer
    }

    func testSaveAndLoadThroughTokenizerFile() throws {
        let tokenizer = try smallTokenizer()
        let path = file("small.json")
        try TokenizerFile.save(tokenizer, to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\"format\": \"minigpt-bpe-tokenizer\", \"version\": 1,"))
        let loaded = try XCTUnwrap(try TokenizerFile.load(path) as? BPETokenizer)
        XCTAssertEqual(loaded.tokens, tokenizer.tokens)
        XCTAssertEqual(loaded.specialTokens, tokenizer.specialTokens)
        XCTAssertEqual(loaded.pattern, .gpt4)
        XCTAssertEqual(loaded.encode("the hat"), tokenizer.encode("the hat"))
    }

    func testCharTokenizerStillLoads() throws {
        let path = file("char.json")
        try TokenizerFile.save(try CharTokenizer(corpus: "hello"), to: path)
        XCTAssertTrue(try TokenizerFile.load(path) is CharTokenizer)
    }

    func testCorruptBPEFiles() throws {
        let good = String(decoding: try smallTokenizer().serialized(), as: UTF8.self)
        let truncated = try write(String(good.prefix(good.count / 2)), "truncated.json")
        assertThrowsTokenizerError("not complete JSON (truncated or corrupt?)") { _ = try TokenizerFile.load(truncated) }
        let notOurs = try write("[1, 2, 3]", "array.json")
        assertThrowsTokenizerError("does not start with a MiniGPT format name") { _ = try TokenizerFile.load(notOurs) }
        let wrongCount = try write(good.replacingOccurrences(of: "\"token_count\": 270", with: "\"token_count\": 271")
            .replacingOccurrences(of: "\"token_count\": 268", with: "\"token_count\": 269"), "count.json")
        assertThrowsTokenizerError("token_count says") { _ = try TokenizerFile.load(wrongCount) }
        let newer = try write(good.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2"), "newer.json")
        assertThrowsTokenizerError("version 2 is not supported") { _ = try TokenizerFile.load(newer) }
        let pattern = try write(good.replacingOccurrences(of: "\"pattern\": \"gpt4\"", with: "\"pattern\": \"gpt5\""), "pattern.json")
        assertThrowsTokenizerError("unknown pattern") { _ = try TokenizerFile.load(pattern) }
        let empty = try write("", "empty.json")
        assertThrowsTokenizerError("empty") { _ = try TokenizerFile.load(empty) }
        assertThrowsTokenizerError("not found") { _ = try TokenizerFile.load(self.file("missing.json")) }
    }

    func testInconsistentVocabularies() {
        let bytes = (0...255).map { [UInt8($0)] }
        assertThrowsTokenizerError("same bytes") {
            _ = try BPETokenizer(tokens: bytes + [[1, 2], [1, 2]], specialTokens: [:], pattern: .gpt2)
        }
        assertThrowsTokenizerError("byte 0x41 has no token") {
            _ = try BPETokenizer(tokens: bytes.enumerated().map { $0.offset == 0x41 ? [0x41, 0x41] : $0.element },
                                 specialTokens: [:], pattern: .gpt2)
        }
        assertThrowsTokenizerError("special ids must be") {
            _ = try BPETokenizer(tokens: bytes, specialTokens: ["<|endoftext|>": 300], pattern: .gpt2)
        }
        assertThrowsTokenizerError("fewer than the 256") {
            _ = try BPETokenizer(tokens: Array(bytes.prefix(10)), specialTokens: [:], pattern: .gpt2)
        }
    }

    func testTiktokenFormatErrors() throws {
        let lines = (0...255).map { Data([UInt8($0)]).base64EncodedString() + " \($0)" }
        let good = try write(lines.joined(separator: "\n") + "\n", "good.tiktoken")
        let loaded = try BPETokenizer.loadTiktoken(good, pattern: .gpt2, specialTokens: ["<|endoftext|>", "<|pad|>"])
        XCTAssertEqual(loaded.vocabularySize, 258)
        XCTAssertEqual(loaded.specialTokens["<|pad|>"], 257)

        var duplicate = lines
        duplicate[5] = Data([5]).base64EncodedString() + " 4"
        let duplicatePath = try write(duplicate.joined(separator: "\n"), "duplicate.tiktoken")
        assertThrowsTokenizerError("rank 4 appears twice") { _ = try BPETokenizer.loadTiktoken(duplicatePath, pattern: .gpt2) }

        var gap = lines
        gap[255] = Data([255]).base64EncodedString() + " 300"
        let gapPath = try write(gap.joined(separator: "\n"), "gap.tiktoken")
        assertThrowsTokenizerError("rank 255 is missing") { _ = try BPETokenizer.loadTiktoken(gapPath, pattern: .gpt2) }

        let sameBytes = try write((lines + [Data([7]).base64EncodedString() + " 256"]).joined(separator: "\n"), "same.tiktoken")
        assertThrowsTokenizerError("same bytes") { _ = try BPETokenizer.loadTiktoken(sameBytes, pattern: .gpt2) }

        let garbage = try write("not a rank file at all\n", "garbage.tiktoken")
        assertThrowsTokenizerError("line 1") { _ = try BPETokenizer.loadTiktoken(garbage, pattern: .gpt2) }
        let badBase64 = try write("@@@ 0\n", "base64.tiktoken")
        assertThrowsTokenizerError("invalid base64") { _ = try BPETokenizer.loadTiktoken(badBase64, pattern: .gpt2) }
    }

    func testGPT2FilesThatDisagree() throws {
        let root = TestFiles.path("Models/gpt2-tokenizer")
        var merges = try String(contentsOfFile: root + "/vocab.bpe", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        merges.swapAt(1, 2)
        let swapped = try write(merges.joined(separator: "\n"), "vocab.bpe")
        assertThrowsTokenizerError("merge 0") { _ = try BPETokenizer.loadGPT2(encoderJSON: root + "/encoder.json", vocabBPE: swapped) }
        let short = try write(merges.prefix(100).joined(separator: "\n"), "short.bpe")
        assertThrowsTokenizerError("99 merges") { _ = try BPETokenizer.loadGPT2(encoderJSON: root + "/encoder.json", vocabBPE: short) }
    }
}
