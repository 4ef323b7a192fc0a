import Core
import Foundation
import Model
import TestSupport
import XCTest

/// A tiny model with large random weights (LayerNorm gains near 1), so every nonlinearity matters.
func makeRandomModel(_ config: ModelConfig, scale: Float = 0.3, seed: UInt64 = 42) throws -> GPT {
    let layout = ParameterLayout(config: config)
    var values = randomValues(layout.count, scale: scale, seed: seed)
    for tensor in layout.tensors where tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight") || tensor.name == "ln_f.weight" {
        for i in 0..<tensor.count { values[tensor.offset + i] += 1 }
    }
    return try GPT(config: config, parameters: FloatBuffer(values))
}

/// Logits after the last of `tokens`, by a full recomputation with the training forward pass.
func recomputedLogits(_ model: GPT, _ tokens: [Int]) throws -> [Float] {
    try model.forward(tokens: tokens.map(Int32.init), batch: 1, time: tokens.count)
    return Array(model.logits(row: tokens.count - 1))
}

final class KVCacheTests: XCTestCase {
    let small = ModelConfig(vocabularySize: 11, contextLength: 8, layers: 2, heads: 2, width: 16)
    /// Longer than one 64-row attention block, so prefill crosses a block boundary.
    let long = ModelConfig(vocabularySize: 13, contextLength: 80, layers: 2, heads: 4, width: 16)

    /// For several prompt lengths up to the context length, prefill then decode well past the context:
    /// at every step the cached logits match a full recomputation over the tokens the cache holds.
    func testCachedLogitsMatchFullRecomputationPastTheContext() throws {
        for config in [small, long] {
            let model = try makeRandomModel(config)
            let ctx = config.contextLength
            for promptLength in [1, 2, ctx / 2, ctx - 1, ctx] {
                let session = try InferenceSession(model: model)
                let prompt = (0..<promptLength).map { ($0 * 7 + 3) % config.vocabularySize }
                var logits = Array(try session.append(prompt))
                var worst: Float = 0
                for step in 0..<(ctx + ctx / 2 + 3) {
                    let expected = try recomputedLogits(model, session.tokens)
                    worst = max(worst, zip(logits, expected).map { abs($0 - $1) }.max()!)
                    let next = (step * 5 + promptLength) % config.vocabularySize
                    logits = Array(try session.append([next]))
                    XCTAssertLessThanOrEqual(session.tokens.count, ctx)
                }
                XCTAssertLessThan(worst, 1e-4, "prompt \(promptLength), context \(ctx)")
                XCTAssertGreaterThan(session.rebuildCount, 0, "the run went past the context")
            }
        }
    }

    /// The context-full policy: keep the last `keepOnOverflow` tokens and carry on.
    func testOverflowKeepsTheMostRecentTokens() throws {
        let model = try makeRandomModel(small)
        let session = try InferenceSession(model: model, keepOnOverflow: 3)
        try session.append(Array(0..<8))
        XCTAssertEqual(session.cache.count, 8)
        try session.append([9])
        XCTAssertEqual(session.tokens, [6, 7, 9])
        XCTAssertEqual(session.cache.count, 3)
        XCTAssertEqual(session.rebuildCount, 1)
        // keepOnOverflow = context: the exact sliding window, the whole context every token.
        let sliding = try InferenceSession(model: model, keepOnOverflow: 8)
        try sliding.append(Array(0..<8))
        try sliding.append([9])
        XCTAssertEqual(sliding.tokens, [1, 2, 3, 4, 5, 6, 7, 9])
        assertClose(Array(sliding.logits), try recomputedLogits(model, sliding.tokens), absolute: 1e-4, relative: 0)
        XCTAssertThrowsError(try InferenceSession(model: model, keepOnOverflow: 0))
        XCTAssertThrowsError(try InferenceSession(model: model, keepOnOverflow: 9))
    }

    /// A prompt prefilled in chunks gives the logits of a one-pass prefill.
    func testChunkedPrefillMatchesOnePass() throws {
        let model = try makeRandomModel(long)
        let tokens = (0..<75).map { ($0 * 11 + 1) % 13 }
        let engine = InferenceEngine(model: model)
        let whole = engine.makeCache()
        let expected = Array(try engine.extend(whole, with: tokens))
        let chunked = engine.makeCache()
        _ = try engine.extend(chunked, with: Array(tokens[0..<30]))
        _ = try engine.extend(chunked, with: Array(tokens[30..<31]))
        let actual = Array(try engine.extend(chunked, with: Array(tokens[31...])))
        assertClose(actual, expected, absolute: 1e-4, relative: 0)
        assertClose(actual, try recomputedLogits(model, tokens), absolute: 1e-4, relative: 0)
    }

    /// Decoding several sequences in one step gives bit-for-bit the logits of decoding each alone.
    func testBatchedStepEqualsOneAtATime() throws {
        let model = try makeRandomModel(long)
        let prompts = [[1, 2, 3], [4], Array(repeating: 5, count: 70), [6, 7]]
        let engine = InferenceEngine(model: model)
        let batched = try prompts.map { prompt -> InferenceSession in
            let session = try InferenceSession(engine: engine)
            try session.append(prompt)
            return session
        }
        for step in 0..<15 {
            let next = prompts.indices.map { ($0 + step * 3) % 13 }
            try InferenceSession.appendBatch(batched, tokens: next)
        }
        for (index, prompt) in prompts.enumerated() {
            let alone = try InferenceSession(model: model)
            try alone.append(prompt)
            for step in 0..<15 { try alone.append([(index + step * 3) % 13]) }
            XCTAssertEqual(alone.tokens, batched[index].tokens)
            XCTAssertEqual(Array(alone.logits), Array(batched[index].logits), "sequence \(index)")
        }
    }

    func testRejectsBadInput() throws {
        let model = try makeRandomModel(small)
        let session = try InferenceSession(model: model)
        XCTAssertThrowsError(try session.append([]))
        XCTAssertThrowsError(try session.append(Array(repeating: 1, count: 9)))  // longer than the context
        XCTAssertThrowsError(try session.append([11]))  // outside the vocabulary
        XCTAssertThrowsError(try session.append([-1]))
        let engine = InferenceEngine(model: model)
        let cache = engine.makeCache()
        _ = try engine.extend(cache, with: Array(0..<8))
        XCTAssertThrowsError(try engine.extend(cache, with: [1]))  // full
        XCTAssertThrowsError(try engine.step([cache], tokens: [1]))
        let other = engine.makeCache()
        XCTAssertThrowsError(try engine.step([other, other], tokens: [1, 2]))  // the same cache twice
        XCTAssertThrowsError(try engine.step([other], tokens: [1, 2]))
        let wrongShape = KVCache(config: long)
        XCTAssertThrowsError(try engine.extend(wrongShape, with: [1]))
    }
}
