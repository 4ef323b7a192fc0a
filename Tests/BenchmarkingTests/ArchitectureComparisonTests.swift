import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import XCTest
import Benchmarking

final class ArchitectureComparisonTests: XCTestCase {
    func testProbeEpisodesPutTheAnswerNPositionsBeforeTheQuery() {
        var generator = SeededGenerator(seed: 1)
        for n in [1, 2, 7, 30] {
            let (prompt, answer) = LongRangeProbe.episode(distance: n, generator: &generator)
            let characters = Array(prompt)
            XCTAssertEqual(characters.count, n + 2)
            XCTAssertEqual(characters.first, LongRangeProbe.cue)
            XCTAssertEqual(characters.last, LongRangeProbe.query)
            XCTAssertEqual(characters[characters.count - 1 - n], answer, "the answer is N positions before the query")
            XCTAssertTrue(characters.dropFirst().dropLast().allSatisfy { LongRangeProbe.letters.contains($0) })
        }
        let text = LongRangeProbe.trainingText(characters: 500, maxDistance: 10, generator: &generator)
        XCTAssertGreaterThanOrEqual(text.count, 500)
        for line in text.split(separator: "\n") {
            XCTAssertEqual(line.last, Array(line)[1], "each training episode ends with its answer: \(line)")
        }
    }

    /// An oracle that answers with the letter after the last cue scores 1 at every distance; one that reads a
    /// position too late scores about chance. So the probe measures what it says, with the rows it says.
    func testProbeAccuracyOfOracles() throws {
        var generator = SeededGenerator(seed: 2)
        let text = LongRangeProbe.trainingText(characters: 2000, maxDistance: 14, generator: &generator)
        let tokenizer = try CharTokenizer(corpus: text)
        let cue = try tokenizer.encode(String(LongRangeProbe.cue))[0]
        for (offset, expected) in [(1, 1.0), (2, LongRangeProbe.chance)] {
            let oracle = try Oracle(vocabulary: tokenizer.vocabularySize, context: 16, cue: cue, offset: offset)
            for n in [1, 5, 14] where offset == 1 || n > 1 {
                let accuracy = try LongRangeProbe.accuracy(model: oracle, tokenizer: tokenizer, distance: n, episodes: 400,
                                                           maxDistance: 14, batch: 7, generator: &generator)
                XCTAssertEqual(accuracy, expected, accuracy: offset == 1 ? 0 : 0.05, "offset \(offset), N \(n)")
            }
        }
        let oracle = try Oracle(vocabulary: tokenizer.vocabularySize, context: 16, cue: cue, offset: 1)
        XCTAssertThrowsError(try LongRangeProbe.accuracy(model: oracle, tokenizer: tokenizer, distance: 15, episodes: 1,
                                                         maxDistance: 14, batch: 1, generator: &generator))
    }

    func testTheLSTMIsSizedLikeTheGPT() throws {
        let config = ArchitectureComparisonConfig(corpus: "unused")
        try config.validate()
        let gpt = config.gptShape(vocabulary: 65).parameterCount, lstm = config.lstmShape(vocabulary: 65).parameterCount
        XCTAssertEqual(Double(lstm), Double(gpt), accuracy: 0.01 * Double(gpt))
        var bad = config
        bad.probeDistances = [63]
        XCTAssertThrowsError(try bad.validate())
    }
}

/// A stand-in language model whose logits at each row put all weight on the token `offset` positions after
/// the most recent cue in that row's window so far.
private final class Oracle: LanguageModel {
    let config: ModelConfig
    let parameters = FloatBuffer(count: 1)
    let gradients = FloatBuffer(count: 1)
    let cue: Int32, offset: Int
    private var logits = FloatBuffer(count: 1)  // (B, T, V) one-hot rows

    init(vocabulary: Int, context: Int, cue: Int, offset: Int) throws {
        config = ModelConfig(vocabularySize: vocabulary, contextLength: context, layers: 1, heads: 1, width: 1, architecture: .lstm)
        self.cue = Int32(cue)
        self.offset = offset
    }

    var parameterTensors: [ParameterLayout.Tensor] { [] }
    var parameterCount: Int { 1 }
    var lastLosses: [Float] { [] }
    func zeroGradients() {}
    func backward(scale: Float) {}
    func replica() throws -> any LanguageModel { self }

    func forward(tokens: [Int32], targets: [Int32]?, batch: Int, time: Int) throws -> Float? {
        let v = config.vocabularySize
        logits = FloatBuffer(count: batch * time * v)
        for index in 0..<(batch * time) {
            let start = index - index % time
            if let last = (start...index).last(where: { tokens[$0] == cue }), last + offset <= index {
                logits[index * v + Int(tokens[last + offset])] = 1
            }
        }
        return nil
    }

    func logits(row index: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: logits.pointer + index * config.vocabularySize, count: config.vocabularySize)
    }
}
