import Foundation
import Tokenizers
import XCTest

final class StreamingUTF8DecoderTests: XCTestCase {
    func testHoldsBackIncompleteCharacters() {
        var decoder = StreamingUTF8Decoder()
        let emoji = Array("😀".utf8)  // F0 9F 98 80
        XCTAssertEqual(decoder.feed([UInt8(ascii: "a")] + emoji.prefix(2)), "a")
        XCTAssertEqual(decoder.pendingByteCount, 2)
        XCTAssertEqual(decoder.feed([emoji[2]]), "")
        XCTAssertEqual(decoder.feed([emoji[3]] + Array("中".utf8)), "😀中")
        XCTAssertEqual(decoder.feed([0xE4, 0xB8]), "")
        XCTAssertEqual(decoder.flush(), "\u{FFFD}")
        XCTAssertEqual(decoder.pendingByteCount, 0)
    }

    func testInvalidBytesBecomeReplacementAtOnce() {
        var decoder = StreamingUTF8Decoder()
        XCTAssertEqual(decoder.feed([0x80, 0x41, 0xFF, 0xE4, 0x41]), "\u{FFFD}A\u{FFFD}\u{FFFD}A")
        XCTAssertEqual(decoder.feed([0xED, 0xA0]), "\u{FFFD}\u{FFFD}")  // surrogate: ill-formed after one byte
    }

    func testAnySplitEqualsWholeDecoding() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [[UInt8]] = ["a", "é", "中", "😀", " "].map { Array($0.utf8) } + [[0x80], [0xC3], [0xE4, 0xB8], [0xF0, 0x9F], [0xFF], [0xED, 0xA0, 0x80]]
        for _ in 0..<500 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...20, using: &generator) { bytes += alphabet.randomElement(using: &generator)! }
            var decoder = StreamingUTF8Decoder()
            var text = ""
            var index = 0
            while index < bytes.count {
                let step = Int.random(in: 1...4, using: &generator)
                text += decoder.feed(Array(bytes[index..<min(index + step, bytes.count)]))
                index += step
            }
            text += decoder.flush()
            XCTAssertEqual(text, String(decoding: bytes, as: UTF8.self), "bytes \(bytes)")
        }
    }

    func testDecodingGPT2TokensOneByOne() throws {
        let text = "流式解码：每个词元可能在字符中间结束 😀👍🏽."
        var decoder = StreamingUTF8Decoder()
        var output = ""
        for id in TestFiles.gpt2.encode(text) {
            let piece = decoder.feed(try TestFiles.gpt2.tokenBytes(id))
            XCTAssertFalse(piece.contains("\u{FFFD}"))
            output += piece
        }
        output += decoder.flush()
        XCTAssertEqual(output, text)
    }
}

final class TokenFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestFiles.temporaryDirectory() }
    override func tearDownWithError() throws { try FileManager.default.removeItem(at: directory) }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testRoundTripBothWidths() throws {
        for (vocabulary, width) in [(65_536, 2), (65_537, 4), (50_257, 2), (300, 2)] {
            let ids = [0, 1, 255, vocabulary - 1, vocabulary / 2, 7]
            let path = file("t\(vocabulary).bin")
            try TokenFile.write(ids: ids, vocabularySize: vocabulary, to: path)
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            XCTAssertEqual(size, TokenFile.headerSize + ids.count * width)
            XCTAssertTrue(TokenFile.looksLikeTokenFile(path))
            let read = try TokenFile.read(path)
            XCTAssertEqual(read.ids, ids.map(Int32.init))
            XCTAssertEqual(read.vocabularySize, vocabulary)
        }
    }

    func testCorruptTokenFiles() throws {
        let path = file("good.bin")
        try TokenFile.write(ids: [1, 2, 3, 4], vocabularySize: 10, to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        func variant(_ name: String, _ change: (inout Data) -> Void) throws -> String {
            var data = good
            change(&data)
            let variantPath = file(name)
            try data.write(to: URL(fileURLWithPath: variantPath))
            return variantPath
        }
        let truncated = try variant("truncated.bin") { $0.removeLast(1) }
        assertThrowsTokenizerError("truncated") { _ = try TokenFile.read(truncated) }
        let magic = try variant("magic.bin") { $0[0] = UInt8(ascii: "X") }
        assertThrowsTokenizerError("does not start with") { _ = try TokenFile.read(magic) }
        XCTAssertFalse(TokenFile.looksLikeTokenFile(magic))
        let version = try variant("version.bin") { $0[16] = 9 }
        assertThrowsTokenizerError("version 9") { _ = try TokenFile.read(version) }
        let width = try variant("width.bin") { $0[20] = 4 }
        assertThrowsTokenizerError("4 bytes wide") { _ = try TokenFile.read(width) }
        let huge = try variant("huge.bin") { $0[39] = 0x7F }
        assertThrowsTokenizerError("implausibly large") { _ = try TokenFile.read(huge) }
        let count = try variant("count.bin") { $0[32] = 9 }
        assertThrowsTokenizerError("promises 9 ids") { _ = try TokenFile.read(count) }
        let outOfRange = try variant("range.bin") { $0[64] = 10 }
        assertThrowsTokenizerError("id 10 at position 0") { _ = try TokenFile.read(outOfRange) }
        let changed = try variant("changed.bin") { $0[64] = 5 }
        assertThrowsTokenizerError("checksum") { _ = try TokenFile.read(changed) }
        let largest = try variant("largest.bin") { $0[40] = 10 }
        assertThrowsTokenizerError("largest id, 10, is out of range") { _ = try TokenFile.read(largest) }
        let documents = try variant("documents.bin") { $0[63] = 1 }
        assertThrowsTokenizerError("documents for 4 ids") { _ = try TokenFile.read(documents) }
        let short = try variant("short.bin") { $0 = $0.prefix(20) }
        assertThrowsTokenizerError("shorter than") { _ = try TokenFile.read(short) }
        let shortHeader = try variant("short-header.bin") { $0 = $0.prefix(48) }
        assertThrowsTokenizerError("shorter than the 64-byte") { _ = try TokenFile.read(shortHeader) }
        XCTAssertFalse(TokenFile.looksLikeTokenFile(file("missing.bin")))
        assertThrowsTokenizerError("not found") { _ = try TokenFile.read(self.file("missing.bin")) }
    }

    /// Version 1 files (a 40-byte header without largest id, checksum or document count) are still read.
    func testReadsVersion1() throws {
        var bytes = Array("minigpt-tokens".utf8) + [UInt8](repeating: 0, count: 2)
        bytes += [1, 0, 0, 0, 2, 0, 0, 0] + [10, 0, 0, 0, 0, 0, 0, 0] + [3, 0, 0, 0, 0, 0, 0, 0]
        bytes += [9, 0, 0, 0, 4, 0]
        let path = file("v1.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try TokenFile.read(path).ids, [9, 0, 4])
        let mapped = try MappedTokenFile(path: path)
        XCTAssertNil(mapped.header.checksum)
        var checksum = TokenFile.Checksum()
        for id: UInt32 in [9, 0, 4] { checksum.add(id) }
        XCTAssertEqual(try mapped.checksum(), checksum.value)
        try TokenFile.write(ids: [9, 0, 4], vocabularySize: 10, to: file("v2.bin"))
        XCTAssertEqual(try MappedTokenFile(path: file("v2.bin")).header.checksum, checksum.value)
        bytes[40] = 10
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        assertThrowsTokenizerError("id 10 at position 0") { _ = try TokenFile.read(path) }
    }

    /// A file truncated or rewritten after it was mapped gives an error on the next read, not SIGBUS.
    func testMappedFileChangedUnderneath() throws {
        let path = file("live.bin")
        try TokenFile.write(ids: Array(0..<5000).map { $0 % 7 }, vocabularySize: 7, to: path)
        let mapped = try MappedTokenFile(path: path)
        XCTAssertEqual(try mapped.ids(4990..<4993), [6, 0, 1])
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64(TokenFile.headerSize + 2 * 10))
        handle.write(Data([200, 0]))
        assertThrowsTokenizerError("id 200 at position 10") { _ = try mapped.ids(8..<12) }
        try handle.truncate(atOffset: 100)
        try handle.close()
        assertThrowsTokenizerError("shrank to 100 bytes") { _ = try mapped.ids(4990..<4993) }
        XCTAssertThrowsError(try mapped.ids(4999..<5001))
    }

    func testWriteRejectsOutOfRangeIds() {
        assertThrowsTokenizerError("out of range") { try TokenFile.write(ids: [3], vocabularySize: 3, to: self.file("x.bin")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("x.bin")))
    }
}
