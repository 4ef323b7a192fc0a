import Foundation
import Tokenizers
import XCTest

/// Training on examples small enough to work out by hand.
final class BPETrainerTests: XCTestCase {
    private func train(_ texts: [String], _ size: Int, _ pattern: PreSplitPattern = .gpt2,
                       specials: [String] = []) throws -> BPETrainingResult {
        try BPETrainer.train(corpus: texts.map { Array($0.utf8) }, vocabularySize: size, pattern: pattern, specialTokens: specials)
    }

    private func learned(_ tokenizer: BPETokenizer) -> [String] {
        tokenizer.tokens.dropFirst(256).map { String(decoding: $0, as: UTF8.self) }
    }

    func testClassicExampleAndTieBreaking() throws {
        // One chunk "aaabdaaabac". Pair counts: aa 4 (overlaps count), ab 2, bd 1, da 1, ba 1, ac 1.
        // Merge 1: (a,a) -> 256, applied left to right: aa a b d aa a b a c.
        // Then (256,a) and (a,b) both occur twice; the tie goes to the smaller first id: (a,b) = (97,98) -> 257.
        // Then (256,257) occurs twice -> 258 "aaab".
        let result = try train(["aaabdaaabac"], 256 + 3 + 1)
        XCTAssertEqual(learned(result.tokenizer), ["aa", "ab", "aaab"])
        XCTAssertEqual(result.tokenizer.tokens[256 + 2], Array("aaab".utf8))
        XCTAssertEqual(result.tokenizer.endOfTextID, 259)
        XCTAssertEqual(result.tokenizer.encode("aaabdaaabac"), [258, 100, 258, 97, 99])
        XCTAssertFalse(result.stoppedEarly)
    }

    func testTieBreakOnSecondId() throws {
        // Chunks "xb" and "xa" once each: (x,a) and (x,b) tie at 1; (120,97) < (120,98) so "xa" comes first.
        let result = try train(["xb xa"], 256 + 2 + 1, .gpt4)
        // gpt4 splits into "xb", " xa": pairs (x,b) 1, (space,x) 1, (x,a) 1 -> smallest first id is space (32).
        XCTAssertEqual(learned(result.tokenizer), [" x", "xb"])
    }

    func testIdenticalChunksAreCountedWithTheirFrequency() throws {
        // " ab" appears 3 times, "cd" once: the first merge must be (space, a) or (a, b) with count 3;
        // (32, 97) sorts before (97, 98).
        let result = try train(["cd ab ab ab"], 256 + 3 + 1)
        XCTAssertEqual(learned(result.tokenizer), [" a", " ab", "cd"])
        XCTAssertEqual(result.distinctChunks, 2)
    }

    func testMergesNeverCrossChunks() throws {
        let result = try train(["a b a b a b"], 256 + 10 + 1)
        for token in learned(result.tokenizer) { XCTAssertFalse(token.hasSuffix(" "), "token \(token.debugDescription)") }
        // Chunks: "a", " b" x3, " a" x2. (space, b) counts 3 and wins over (space, a) with 2; then nothing is left.
        XCTAssertTrue(result.stoppedEarly)
        XCTAssertEqual(learned(result.tokenizer), [" b", " a"])
    }

    func testTrainingIsDeterministicAndRoundTrips() throws {
        let text = try String(contentsOfFile: TestFiles.path("Corpora/tang300.txt"), encoding: .utf8)
        let sample = String(text.prefix(20_000)) + " English words, it's, we'll, 12345 and more English words."
        let first = try train([sample], 600, .gpt4, specials: ["<|pad|>"])
        let second = try train([sample], 600, .gpt4, specials: ["<|pad|>"])
        XCTAssertEqual(first.tokenizer.tokens, second.tokenizer.tokens)
        XCTAssertEqual(first.tokenizer.vocabularySize, 600)
        XCTAssertEqual(first.tokenizer.specialTokens, ["<|endoftext|>": 598, "<|pad|>": 599])
        let ids = first.tokenizer.encode(sample)
        XCTAssertEqual(try first.tokenizer.decode(ids), sample)
        XCTAssertLessThan(ids.count, sample.utf8.count * 3 / 5)
        // Every learned token is the concatenation of two earlier tokens.
        let tokens = first.tokenizer.tokens
        var known = Set(tokens.prefix(256))
        for token in tokens.dropFirst(256) {
            XCTAssertTrue((1..<token.count).contains { known.contains(Array(token[..<$0])) && known.contains(Array(token[$0...])) })
            known.insert(token)
        }
    }

    func testBadArguments() {
        assertThrowsTokenizerError("too small") { _ = try self.train(["abc"], 256) }
        assertThrowsTokenizerError("at least 258") { _ = try self.train(["abc"], 257, specials: ["<|x|>"]) }
        assertThrowsTokenizerError("empty") { _ = try self.train([""], 300) }
        assertThrowsTokenizerError("empty") { _ = try self.train([], 300) }
    }

    func testTrainedTokenizerRoundTripsArbitraryBytes() throws {
        let tokenizer = try train(["hello hello world, this is a test of the trainer; hello world"], 300).tokenizer
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            XCTAssertEqual(try tokenizer.decodeBytes(tokenizer.encode(bytes: bytes)), bytes)
        }
    }
}

/// The incremental trainer against a plain one that recounts every pair before every merge.
final class BPETrainerReferenceTests: XCTestCase {
    /// Obviously-correct and slow: same chunks, same tie-break, same left-to-right merging.
    private func referenceTrain(_ text: [UInt8], merges: Int, pattern: PreSplitPattern) -> [[UInt8]] {
        var counts: [[UInt8]: Int] = [:]
        for chunk in pattern.chunks(text) { counts[chunk, default: 0] += 1 }
        var words = counts.map { (symbols: $0.key.map(Int.init), count: $0.value) }
        var tokens: [[UInt8]] = (0...255).map { [UInt8($0)] }
        var idOf: [[UInt8]: Int] = [:]
        for (id, token) in tokens.enumerated() { idOf[token] = id }
        for _ in 0..<merges {
            var pairCounts: [[Int]: Int] = [:]
            for word in words where word.symbols.count > 1 {
                for index in 0..<word.symbols.count - 1 { pairCounts[[word.symbols[index], word.symbols[index + 1]], default: 0] += word.count }
            }
            guard let best = pairCounts.min(by: { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) })
            else { break }
            let merged = tokens[best.key[0]] + tokens[best.key[1]]
            let newID: Int
            if let existing = idOf[merged] { newID = existing } else {
                newID = tokens.count
                tokens.append(merged)
                idOf[merged] = newID
            }
            for index in words.indices {
                var output: [Int] = []
                var position = 0
                let symbols = words[index].symbols
                while position < symbols.count {
                    if position + 1 < symbols.count && symbols[position] == best.key[0] && symbols[position + 1] == best.key[1] {
                        output.append(newID)
                        position += 2
                    } else {
                        output.append(symbols[position])
                        position += 1
                    }
                }
                words[index].symbols = output
            }
        }
        return tokens
    }

    func testIncrementalCountingMatchesRecounting() throws {
        let chinese = try String(contentsOfFile: TestFiles.path("Corpora/song100.txt"), encoding: .utf8)
        let english = "It was the best of times, it was the worst of times; it's the age of wisdom, we'll see 1234567.\n"
        let text = Array((String(chinese.prefix(3_000)) + String(repeating: english, count: 20) + "aaaaaaa bbbbbb aaaa").utf8)
        for pattern in PreSplitPattern.allCases {
            let reference = referenceTrain(text, merges: 250, pattern: pattern)
            let trained = try BPETrainer.train(corpus: [text], vocabularySize: reference.count + 1, pattern: pattern).tokenizer
            XCTAssertEqual(trained.tokens.count, reference.count)
            for (id, (ours, theirs)) in zip(trained.tokens, reference).enumerated() where ours != theirs {
                XCTFail("\(pattern): token \(id) is \(ours), reference \(theirs)")
                break
            }
        }
    }
}
