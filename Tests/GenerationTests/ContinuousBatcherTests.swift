import Foundation
import Core
import Generation
import Model
import TestSupport
import Tokenizers
import XCTest

final class ContinuousBatcherTests: XCTestCase {
    let characters = "abcdefgh éü日本.\n"

    /// Runs `requests` through a batcher with `slots` slots, admitting request i at step `joins[i]` (or later
    /// when no slot is free) and cancelling the ids in `cancelAt` at the given step. Returns each request's
    /// bytes and stop reason (nil when cancelled) and the largest number of sequences stepped together.
    func run(_ requests: [GenerationRequest], joins: [Int], slots: Int, cancelAt: [Int: Int] = [:], model: GPT,
             tokenizer: any Tokenizer, batching: BatchedDecoding = .rowByRow) throws -> (text: [[UInt8]], stops: [StopReason?], widest: Int) {
        let engine = InferenceEngine(model: model)
        engine.batchedDecoding = batching
        let batcher = try ContinuousBatcher(engine: engine, tokenizer: tokenizer, slots: slots)
        var text = [[UInt8]](repeating: [], count: requests.count)
        var stops = [StopReason?](repeating: nil, count: requests.count)
        var pending = Array(requests.indices)
        var finished = Set<Int>()
        var widest = 0
        var step = 0
        while finished.count < requests.count {
            for (id, at) in cancelAt where at == step && !finished.contains(id) {
                batcher.cancel(id: id)
                pending.removeAll { $0 == id }
                finished.insert(id)
            }
            while let next = pending.first, joins[next] <= step, batcher.freeSlots > 0 {
                try batcher.admit(id: next, request: requests[next])
                pending.removeFirst()
            }
            widest = max(widest, batcher.activeIDs.count)
            for event in try batcher.step() {
                text[event.id] += event.emit
                if let reason = event.finished {
                    stops[event.id] = reason
                    finished.insert(event.id)
                }
            }
            step += 1
        }
        return (text, stops, widest)
    }

    func requests(_ tokenizer: any Tokenizer) throws -> [GenerationRequest] {
        (0..<6).map { i in
            GenerationRequest(prompt: Array((try! tokenizer.encode("abc日本 éü.\nh")).prefix(1 + i * 2)),
                              sampling: SamplingConfig(temperature: i == 3 ? 0 : 0.9, topK: i % 2 == 0 ? 0 : 5, frequencyPenalty: 0.3,
                                                       seed: UInt64(10 + i)),
                              stop: StopCondition(maxNewTokens: 9 + 5 * i, stopStrings: i == 4 ? ["e."] : []))
        }
    }

    /// Sequences that join at different steps, wait for a slot, or run past the context (16) give exactly what
    /// `BatchGenerator` gives each alone.
    func testStaggeredJoinsEqualOneAtATime() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let requests = try requests(tokenizer)
        let result = try run(requests, joins: [0, 0, 3, 4, 4, 11], slots: 3, model: model, tokenizer: tokenizer)
        XCTAssertEqual(result.widest, 3, "three sequences should have shared steps")
        for (index, request) in requests.enumerated() {
            let alone = try BatchGenerator(model: model).generate([request], tokenizer: tokenizer)[0]
            XCTAssertEqual(result.text[index], alone.text, "request \(index)")
            XCTAssertEqual(result.stops[index], alone.stopReason, "request \(index)")
        }
    }

    /// A cancelled sequence leaves at once: its slot goes to a waiting request in the same step, and the
    /// others are unaffected.
    func testCancelFreesTheSlotAndLeavesOthersAlone() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let requests = try requests(tokenizer)
        let result = try run(requests, joins: [0, 0, 0, 0, 0, 0], slots: 2, cancelAt: [1: 2], model: model, tokenizer: tokenizer)
        XCTAssertNil(result.stops[1])
        for index in [0, 2, 3, 4, 5] {
            let alone = try BatchGenerator(model: model).generate([requests[index]], tokenizer: tokenizer)[0]
            XCTAssertEqual(result.text[index], alone.text, "request \(index)")
        }
        let engine = InferenceEngine(model: model)
        let batcher = try ContinuousBatcher(engine: engine, tokenizer: tokenizer, slots: 1)
        try batcher.admit(id: 7, request: requests[0])
        XCTAssertEqual(batcher.freeSlots, 0)
        XCTAssertThrowsError(try batcher.admit(id: 8, request: requests[1]))
        batcher.cancel(id: 7)
        XCTAssertEqual(batcher.freeSlots, 1)
        XCTAssertEqual(try batcher.step(), [])
    }

    /// A bad request is refused before it takes a slot.
    func testRejectsBadRequestsWithoutTakingASlot() throws {
        let tokenizer = try CharTokenizer(characters: Array(characters.unicodeScalars))
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 16)
        let batcher = try ContinuousBatcher(engine: InferenceEngine(model: model), tokenizer: tokenizer, slots: 1)
        let tooLong = GenerationRequest(prompt: Array(repeating: 0, count: 17), sampling: .greedy, stop: StopCondition(maxNewTokens: 1))
        XCTAssertThrowsError(try batcher.admit(id: 0, request: tooLong)) { error in
            XCTAssertEqual("\(error)", "the prompt is 17 tokens, longer than the model's context of 16")
        }
        var badSampling = tooLong
        badSampling.prompt = [1]
        badSampling.sampling.topP = 0
        XCTAssertThrowsError(try batcher.admit(id: 0, request: badSampling))
        XCTAssertEqual(batcher.freeSlots, 1)
        XCTAssertThrowsError(try ContinuousBatcher(engine: InferenceEngine(model: model), tokenizer: tokenizer, slots: 0))
    }

    /// The matrix-matrix step computes the same logits as the row-by-row step up to float rounding, and a
    /// sequence alone in the batch is bit for bit the row-by-row one.
    func testMatrixStepMatchesRowByRow() throws {
        let config = ModelConfig(vocabularySize: 40, contextLength: 32, layers: 2, heads: 2, width: 64)
        let layout = ParameterLayout(config: config)
        let model = try GPT(config: config, parameters: FloatBuffer(randomValues(layout.count, scale: 0.2, seed: 5)))
        func logits(_ batching: BatchedDecoding, rows: Int) throws -> [[Float]] {
            let engine = InferenceEngine(model: model)
            engine.batchedDecoding = batching
            let caches = (0..<rows).map { _ in engine.makeCache() }
            for (index, cache) in caches.enumerated() { _ = try engine.extend(cache, with: Array(0...(index % 5 + 1))) }
            return try engine.step(caches, tokens: (0..<rows).map { ($0 * 7) % 40 }).map(Array.init)
        }
        let rows = try logits(.rowByRow, rows: 5), matrix = try logits(.matrix, rows: 5)
        var largestGap: Float = 0
        for (a, b) in zip(rows, matrix) {
            assertClose(b, a, absolute: 1e-4, relative: 1e-4)
            largestGap = max(largestGap, zip(a, b).map { abs($0 - $1) }.max()!)
        }
        XCTAssertLessThan(largestGap, 1e-4)
        XCTAssertEqual(try logits(.matrix, rows: 1), try logits(.rowByRow, rows: 1))
    }
}
