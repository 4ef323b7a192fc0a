import Foundation
import Core
import Generation
import Model
import TestSupport
import Tokenizers
import XCTest

final class BatchGeneratorTests: XCTestCase {
    let characters = "abcdefgh éü日本.\n"

    func makeRequests(_ tokenizer: any Tokenizer) throws -> [GenerationRequest] {
        [
            GenerationRequest(prompt: try tokenizer.encode("abc"), sampling: SamplingConfig(temperature: 1, seed: 1),
                              stop: StopCondition(maxNewTokens: 40)),
            GenerationRequest(prompt: try tokenizer.encode("h"), sampling: SamplingConfig(temperature: 0.7, topK: 5, seed: 2),
                              stop: StopCondition(maxNewTokens: 7)),
            GenerationRequest(prompt: try tokenizer.encode("日本 éü.\nabcdefgh"), sampling: SamplingConfig(temperature: 1.2, topP: 0.9, minP: 0.05,
                              repetitionPenalty: 1.3, seed: 3), stop: StopCondition(maxNewTokens: 25, stopStrings: ["b."])),
            GenerationRequest(prompt: try tokenizer.encode("ee"), sampling: .greedy, stop: StopCondition(maxNewTokens: 30),
                              logProbabilities: true),
        ]
    }

    /// n sequences with different prompt lengths, samplers and stop conditions give, together, exactly
    /// what each gives alone, including runs past the context (16) that rebuild the cache.
    func testBatchedEqualsOneAtATime() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let requests = try makeRequests(tokenizer)
        var streamed = [[UInt8]](repeating: [], count: requests.count)
        let batched = try BatchGenerator(model: model).generate(requests, tokenizer: tokenizer) { streamed[$0] += $1 }
        for (index, request) in requests.enumerated() {
            let alone = try BatchGenerator(model: model).generate([request], tokenizer: tokenizer)[0]
            XCTAssertEqual(alone, batched[index], "request \(index)")
            XCTAssertEqual(streamed[index], batched[index].text)
            XCTAssertEqual(try tokenizer.decodeBytes(batched[index].tokens).prefix(batched[index].text.count), batched[index].text[...])
        }
        XCTAssertEqual(batched.map(\.tokens.count)[0...1], [40, 7])
        // Log-probabilities only where a request asked for them.
        XCTAssertEqual(batched.map { $0.logProbabilities.isEmpty }, [true, true, true, false])
        XCTAssertEqual(batched[3].logProbabilities.count, batched[3].tokens.count)
        XCTAssertTrue(batched[3].logProbabilities.allSatisfy { $0 <= 0 && $0.isFinite })
        XCTAssertEqual(batched[0].stopReason, .maxNewTokens)
        XCTAssertGreaterThan(batched[0].contextRebuilds, 0)
        // The same seeds reproduce the run; a different seed changes it.
        XCTAssertEqual(try BatchGenerator(model: model).generate(requests, tokenizer: tokenizer), batched)
        var reseeded = requests[0]
        reseeded.sampling.seed = 99
        XCTAssertNotEqual(try BatchGenerator(model: model).generate([reseeded], tokenizer: tokenizer)[0].tokens, batched[0].tokens)
    }

    /// Greedy decoding through the cache picks, at every step, the argmax of a full recomputation.
    func testGreedyFollowsFullRecomputation() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let prompt = try tokenizer.encode("abc")
        let result = try BatchGenerator(model: model, keepOnOverflow: 16).generate(
            [GenerationRequest(prompt: prompt, sampling: .greedy, stop: StopCondition(maxNewTokens: 30), logProbabilities: true)],
            tokenizer: tokenizer)[0]
        XCTAssertEqual(result.logProbabilities.count, result.tokens.count)
        var tokens = prompt
        for (expected, logProbability) in zip(result.tokens, result.logProbabilities) {
            let window = Array(tokens.suffix(16))
            try model.forward(tokens: window.map(Int32.init), batch: 1, time: window.count)
            let logits = Array(model.logits(row: window.count - 1))
            XCTAssertEqual(expected, logits.indices.max { logits[$0] < logits[$1] })
            let normaliser = log(logits.map { exp(Double($0)) }.reduce(0, +))
            XCTAssertEqual(Double(logProbability), Double(logits[expected]) - normaliser, accuracy: 1e-4)
            tokens.append(expected)
        }
    }

    /// Streamed text arrives in whole characters and adds up to the result.
    func testTextGeneratorStreamsWholeCharacters() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        var pieces: [String] = []
        let result = try TextGenerator(model: model).generate(
            prompt: try tokenizer.encode("日"), sampling: SamplingConfig(temperature: 1, seed: 5),
            stop: StopCondition(maxNewTokens: 20), tokenizer: tokenizer) { pieces.append($0) }
        XCTAssertEqual(pieces.joined(), String(decoding: result.text, as: UTF8.self))
        XCTAssertFalse(pieces.joined().contains("\u{FFFD}"))
    }

    /// Finite weights so large that the logits overflow (the loader's finiteness check passes them) end
    /// generation with an error naming the step, instead of the sampler treating NaN as banned and trapping.
    func testNonFiniteLogitsAreAnErrorNamingTheStep() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        model.parameters.pointer.update(repeating: 3e38, count: model.parameters.count)
        for sampling in [SamplingConfig.greedy, SamplingConfig(temperature: 1)] {
            let request = GenerationRequest(prompt: try tokenizer.encode("ab"), sampling: sampling, stop: StopCondition(maxNewTokens: 5))
            XCTAssertThrowsError(try BatchGenerator(model: model).generate([request], tokenizer: tokenizer)) { error in
                XCTAssertEqual(error as? GenerationError,
                               .samplingFailed("the model produced non-finite (NaN or infinite) logits at step 1"))
            }
        }
    }

    func testRejectsBadRequests() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let generator = BatchGenerator(model: model)
        let good = GenerationRequest(prompt: [1, 2], sampling: .greedy, stop: StopCondition(maxNewTokens: 3))
        func expectError(_ bad: GenerationRequest, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try generator.generate([good, bad], tokenizer: tokenizer), line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(text) && message.contains("request 2"), message, line: line)
                XCTAssertFalse(message.contains("\n"), line: line)
            }
        }
        var bad = good
        bad.prompt = []
        expectError(bad, "the prompt is empty")
        bad.prompt = Array(repeating: 1, count: 17)
        expectError(bad, "longer than the model's context of 16")
        bad.prompt = [tokenizer.vocabularySize]
        expectError(bad, "outside the vocabulary")
        bad = good
        bad.sampling.topP = 0
        expectError(bad, "top-p")
        bad = good
        bad.sampling.topP = 1.5
        expectError(bad, "top-p")
        bad = good
        bad.sampling.temperature = -1
        expectError(bad, "temperature")
        bad = good
        bad.sampling.topK = -2
        expectError(bad, "top-k")
        bad = good
        bad.sampling.logitBias = [tokenizer.vocabularySize: 1]
        expectError(bad, "logit bias")
        bad = good
        bad.stop.maxNewTokens = 0
        expectError(bad, "max new tokens")
        bad = good
        bad.stop.stopStrings = [""]
        expectError(bad, "stop string 1 is empty")
        XCTAssertThrowsError(try generator.generate([], tokenizer: tokenizer))
        let otherTokenizer = try CharTokenizer(characters: Array("ab".unicodeScalars))
        XCTAssertThrowsError(try generator.generate([good], tokenizer: otherTokenizer))
    }
}

final class BPEStreamingTests: XCTestCase {
    /// With a byte-level BPE whose tokens split characters, the streamed text is exactly the UTF-8 decoding
    /// of all generated bytes: no character is broken at a token boundary.
    func testStreamedTextNeverBreaksACharacter() throws {
        let corpus = [Array(String(repeating: "日本語のテキスト。éàü ", count: 20).utf8)]
        let tokenizer = try BPETrainer.train(corpus: corpus, vocabularySize: 262, pattern: .gpt4).tokenizer
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 24)
        var pieces: [String] = []
        var sampling = SamplingConfig(temperature: 1, seed: 11)
        // Only the bytes of the corpus' multi-byte characters (and the merges): lead and continuation bytes.
        for id in 0..<256 where !corpus[0].contains(UInt8(id)) { sampling.logitBias[id] = -.infinity }
        let result = try TextGenerator(model: model).generate(
            prompt: tokenizer.encode("日本"), sampling: sampling, stop: StopCondition(maxNewTokens: 40), tokenizer: tokenizer) {
            pieces.append($0)
        }
        XCTAssertEqual(pieces.joined(), String(decoding: result.text, as: UTF8.self))
        let naive = try result.tokens.map { String(decoding: try tokenizer.decodeBytes([$0]), as: UTF8.self) }.joined()
        XCTAssertNotEqual(naive, pieces.joined(), "some token split a character, so per-token decoding would break it")
    }
}
