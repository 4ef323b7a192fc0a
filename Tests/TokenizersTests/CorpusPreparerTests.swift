import Core
import Foundation
import Tokenizers
import XCTest

final class CorpusPreparerTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestFiles.temporaryDirectory() }
    override func tearDownWithError() throws { try FileManager.default.removeItem(at: directory) }

    private func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Pieces that stress the pre-split rules at a cut: multi-byte letters, numbers and spaces, runs of
    /// whitespace, contractions, punctuation before letters, CRLF, and (for BPE) bytes that are not UTF-8.
    private static let validPieces = ["a", "Zq", "é", "中文", "٣", "12", "9", " ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "'",
                                      ".", "?!", "🙂", "\u{00A0}", "ſ", "x1", "the", " dog", "...\n"]
    private static let invalidPieces: [[UInt8]] = [[0xFF], [0xE4], [0x80, 0x80], [0xF0, 0x9F]]

    private func randomText(seed: UInt64, length: Int, valid: Bool) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        var bytes: [UInt8] = []
        while bytes.count < length {
            if !valid && generator.nextInt(below: 10) == 0 {
                bytes += Self.invalidPieces[generator.nextInt(below: Self.invalidPieces.count)]
            } else {
                bytes += Array(Self.validPieces[generator.nextInt(below: Self.validPieces.count)].utf8)
            }
        }
        return bytes
    }

    private func prepared(_ tokenizer: any Tokenizer, _ files: [String], pieceBytes: Int, threads: Int) throws -> [Int] {
        var preparer = CorpusPreparer(tokenizer: tokenizer, threads: threads)
        preparer.pieceBytes = pieceBytes
        let out = file("out.bin")
        try preparer.prepare(files: files, to: out)
        return try TokenFile.read(out).ids.map(Int.init)
    }

    /// Streaming in pieces of any size gives the ids of encoding each file whole, for every pre-split
    /// pattern, GPT-2's vocabulary and a character vocabulary; tiny pieces put cuts everywhere, inside
    /// multi-byte characters and inside pre-split chunks included, which `SafeCut` must move off.
    func testPiecesEncodeLikeTheWholeText() throws {
        let text = randomText(seed: 1, length: 3000, valid: false)
        let path = file("corpus.txt")
        try Data(text).write(to: URL(fileURLWithPath: path))
        var tokenizers: [any Tokenizer] = [TestFiles.gpt2]
        for pattern in PreSplitPattern.allCases {
            tokenizers.append(try BPETrainer.train(corpus: [text], vocabularySize: 400, pattern: pattern).tokenizer)
        }
        for tokenizer in tokenizers {
            let whole = (tokenizer as! BPETokenizer).encode(bytes: text)
            for (pieceBytes, threads) in [(1, 1), (5, 2), (17, 3), (64, 2), (1 << 20, 2)] {
                let streamed = try prepared(tokenizer, [path], pieceBytes: pieceBytes, threads: threads)
                let difference = zip(streamed, whole).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(streamed.count, whole.count)
                XCTAssertTrue(streamed == whole, "pattern \((tokenizer as! BPETokenizer).pattern), pieces of \(pieceBytes): "
                              + "\(streamed.count) ids against \(whole.count), first difference at id \(difference)")
            }
        }
        let valid = randomText(seed: 2, length: 3000, valid: true)
        try Data(valid).write(to: URL(fileURLWithPath: path))
        let characters = try CharTokenizer(corpus: String(decoding: valid, as: UTF8.self))
        XCTAssertEqual(try prepared(characters, [path], pieceBytes: 3, threads: 2),
                       try characters.encode(String(decoding: valid, as: UTF8.self)))
    }

    /// The test above can fail: cutting at fixed sizes, as a naive reader would, changes the ids.
    func testFixedSizeCutsWouldChangeTheIds() throws {
        let text = randomText(seed: 1, length: 3000, valid: false)
        let gpt2 = TestFiles.gpt2
        var naive: [Int] = []
        for start in stride(from: 0, to: text.count, by: 17) { naive += gpt2.encode(bytes: Array(text[start..<min(start + 17, text.count)])) }
        XCTAssertNotEqual(naive, gpt2.encode(bytes: text))
    }

    /// Every safe cut agrees with the whole text's pre-split chunks: a chunk boundary falls on it.
    func testSafeCutsAreChunkBoundaries() throws {
        let text = randomText(seed: 3, length: 4000, valid: false)
        for pattern in PreSplitPattern.allCases {
            var boundaries = Set<Int>()
            var offset = 0
            for chunk in pattern.chunks(text) {
                offset += chunk.count
                boundaries.insert(offset)
            }
            var cuts = 0
            text.withUnsafeBufferPointer { buffer in
                for limit in stride(from: 1, to: text.count, by: 7) {
                    guard let cut = SafeCut.last(in: buffer, notAfter: limit) else { continue }
                    XCTAssertTrue(cut <= limit && boundaries.contains(cut), "\(pattern): cut \(cut)")
                    cuts += 1
                }
            }
            XCTAssertGreaterThan(cuts, 400)
        }
    }

    func testSeveralFilesAndDirectories() throws {
        let docs = file("docs")
        try FileManager.default.createDirectory(atPath: docs + "/sub", withIntermediateDirectories: true)
        for (name, text) in [("b.txt", "second"), ("a.txt", "first"), ("sub/c.txt", "third"), (".hidden", "no"), ("empty.txt", "")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: docs + "/" + name))
        }
        let files = try CorpusPreparer.inputFiles([docs])
        XCTAssertEqual(files, ["a.txt", "b.txt", "sub/c.txt"].map { docs + "/" + $0 })
        let gpt2 = TestFiles.gpt2
        let separator = try XCTUnwrap(gpt2.endOfTextID)
        var progress: [PrepareProgress] = []
        let header = try CorpusPreparer(tokenizer: gpt2, threads: 2).prepare(files: files, to: file("out.bin")) { progress.append($0) }
        let expected = gpt2.encode("first") + [separator] + gpt2.encode("second") + [separator] + gpt2.encode("third")
        XCTAssertEqual(try TokenFile.read(file("out.bin")).ids.map(Int.init), expected)
        XCTAssertEqual(header.documents, 3)
        XCTAssertEqual(header.largestID, expected.max())
        XCTAssertEqual(progress.last?.bytesDone, 16)
        XCTAssertEqual(progress.last?.bytesTotal, 16)
        XCTAssertThrowsError(try CorpusPreparer.inputFiles([file("missing")]))
        assertThrowsTokenizerError("is empty") { try CorpusPreparer(tokenizer: gpt2, threads: 1).prepare(files: [docs + "/empty.txt"], to: self.file("x.bin")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("x.bin")))
    }

    /// Text with no safe cut for longer than `maxPieceBytes` is refused with a message, and no file is left.
    func testNoSafeCutIsAnError() throws {
        let path = file("letters.txt")
        try Data(repeating: UInt8(ascii: "a"), count: 600).write(to: URL(fileURLWithPath: path))
        var preparer = CorpusPreparer(tokenizer: TestFiles.gpt2, threads: 1)
        preparer.pieceBytes = 16
        preparer.maxPieceBytes = 256
        XCTAssertThrowsError(try preparer.prepare(files: [path], to: file("out.bin"))) { error in
            XCTAssertTrue("\(error)".contains("no place to split it"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["letters.txt"])
        let characters = try CharTokenizer(corpus: "ab")
        try Data([0x61, 0xFF, 0x62]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CorpusPreparer(tokenizer: characters, threads: 1).prepare(files: [path], to: file("out.bin"))) { error in
            XCTAssertTrue("\(error)".contains("not valid UTF-8"), "\(error)")
        }
    }
}
