import Core
import Foundation
import Model
import TestSupport
import XCTest

final class GPTTests: XCTestCase {
    let tiny = ModelConfig(vocabularySize: 7, contextLength: 6, layers: 2, heads: 2, width: 8)

    /// A tiny model with large random weights, so every nonlinearity is exercised.
    func makeModel(_ config: ModelConfig, scale: Float = 0.3, seed: UInt64 = 42) throws -> GPT {
        let layout = ParameterLayout(config: config)
        var values = randomValues(layout.count, scale: scale, seed: seed)
        for tensor in layout.tensors where tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight") || tensor.name == "ln_f.weight" {
            for i in 0..<tensor.count { values[tensor.offset + i] += 1 }
        }
        return try GPT(config: config, parameters: FloatBuffer(values))
    }

    func testParameterCountMatchesArchitecture() throws {
        // wte 7*8 + wpe 6*8 + per layer (ln 2*8, qkv 24*8+24, proj 8*8+8, ln 2*8, fc 32*8+32, fcproj 8*32+8) + ln_f 16
        let perLayer = 16 + (192 + 24) + (64 + 8) + 16 + (256 + 32) + (256 + 8)
        let expected = 56 + 48 + 2 * perLayer + 16
        XCTAssertEqual(tiny.parameterCount, expected)
        XCTAssertEqual(ParameterLayout(config: tiny).count, expected)
    }

    /// Each size is capped but their products are not: counts that overflow Int are a config error, not a trap.
    func testOverflowingSizesAreRefused() throws {
        let hostile = [ModelConfig(vocabularySize: 65, contextLength: 64, layers: 4, heads: 1, width: 1_000_000_000),
                       ModelConfig(vocabularySize: 1 << 30, contextLength: 1 << 30, layers: 1 << 30, heads: 1, width: 1 << 30)]
        for config in hostile {
            XCTAssertNil(config.checkedParameterCount)
            XCTAssertEqual(config.parameterCount, Int.max)
            XCTAssertTrue(config.trainingFLOPsPerToken.isFinite)
            XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("too large"), "\($0)") }
        }
        XCTAssertEqual(Checked.product(1 << 31, 1 << 31), 1 << 62)
        XCTAssertNil(Checked.product(1 << 32, 1 << 31))
        XCTAssertNil(Checked.sum(Int.max, 1))
    }

    /// The memory estimate counts the buffers the model really makes, and a batch beyond the machine's
    /// memory is refused with both figures before anything is allocated.
    func testMemoryEstimateAndRefusal() throws {
        XCTAssertEqual(tiny.parameterBytes, Double(ParameterLayout(config: tiny).count * 4))
        // (B, T) = (1, 1): per block 16 C + 4 + H floats; then 6 C + 3 + 2 V.
        XCTAssertEqual(tiny.activationBytes(batch: 1, time: 1), Double(2 * (16 * 8 + 4 + 2) + 6 * 8 + 3 + 2 * 7) * 4)
        XCTAssertEqual(tiny.kvCacheBytes, Double(2 * 2 * 6 * 8 * 4))
        // A large vocabulary makes the logits dominate, so a few thousand tokens outgrow the machine.
        let largeVocabulary = ModelConfig(vocabularySize: 1 << 20, contextLength: 6, layers: 1, heads: 1, width: 2)
        let rows = Int(MemoryBudget.machineBytes / largeVocabulary.activationBytes(batch: 1, time: 6)) + 1
        let model = try GPT(config: largeVocabulary, parameters: FloatBuffer(count: largeVocabulary.parameterCount))
        XCTAssertThrowsError(try model.forward(tokens: [Int32](repeating: 0, count: rows * 6), batch: rows, time: 6)) { error in
            XCTAssertTrue("\(error)".contains("needs about"), "\(error)")
        }
        // Width 1 keeps the parameters small while layers x context makes the cache outgrow the machine.
        let context = 1 << 22
        let deep = ModelConfig(vocabularySize: 7, contextLength: context, layers: Int(MemoryBudget.machineBytes / Double(8 * context)) + 1,
                               heads: 1, width: 1)
        XCTAssertThrowsError(try InferenceSession(model: try GPT(config: deep, parameters: FloatBuffer(count: deep.parameterCount)))) {
            XCTAssertTrue("\($0)".contains("KV cache of one sequence needs about"), "\($0)")
        }
    }

    /// The Float forward pass matches the Double reference, and every parameter's gradient matches
    /// central finite differences of the reference.
    func testWholeModelGradientMatchesFiniteDifferences() throws {
        let model = try makeModel(tiny)
        let b = 2, t = 5
        let tokens: [Int32] = [0, 3, 6, 2, 2, 5, 1, 4, 0, 6]
        let targets: [Int32] = [3, 6, 2, 2, 1, 1, 4, 0, 6, 5]
        let loss = try XCTUnwrap(try model.forward(tokens: tokens, targets: targets, batch: b, time: t))
        let reference = ReferenceGPT(config: tiny)
        let parameters = model.parameters.array.map(Double.init)
        let referenceLoss = reference.loss(parameters: parameters, tokens: tokens, targets: targets, batch: b, time: t)
        assertClose(Double(loss), referenceLoss, absolute: 1e-5, relative: 1e-5)

        model.zeroGradients()
        model.backward()
        let numeric = finiteDifferenceGradient(of: parameters) {
            reference.loss(parameters: $0, tokens: tokens, targets: targets, batch: b, time: t)
        }
        let analytic = model.gradients.array.map(Double.init)
        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            assertClose(Array(analytic[range]), Array(numeric[range]), absolute: 3e-5, relative: 3e-3, tensor.name)
        }
        // Gradients are large enough for the tolerances above to be a real test.
        XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-3)
    }

    /// The general backward pass (per-position loss weights, as for masked SFT, plus a gradient arriving at
    /// the final hidden states, as from a reward or value head) against finite differences.
    func testWeightedLossAndHiddenStateGradientMatchFiniteDifferences() throws {
        let model = try makeModel(tiny, seed: 43)
        let b = 1, t = 6
        let tokens: [Int32] = [1, 5, 2, 0, 6, 3], targets: [Int32] = [5, 2, 0, 6, 3, 4]
        let weights: [Float] = [0, 0, 0.5, 0.25, 0, 1]
        let hiddenGradient = randomValues(b * t * tiny.width, seed: 9)
        try model.forward(tokens: tokens, targets: targets, batch: b, time: t)
        let reference = ReferenceGPT(config: tiny)
        let parameters = model.parameters.array.map(Double.init)
        let hidden = reference.hiddenStates(parameters: parameters, tokens: tokens, batch: b, time: t)
        assertClose(Array(model.hiddenState(row: 4)), hidden[4].map(Float.init), absolute: 1e-5, relative: 1e-5)
        model.zeroGradients()
        model.backward(positionWeights: weights, hiddenGradient: hiddenGradient)
        let numeric = finiteDifferenceGradient(of: parameters) {
            reference.objective(parameters: $0, tokens: tokens, targets: targets, weights: weights.map(Double.init),
                                hiddenGradient: hiddenGradient.map(Double.init), batch: b, time: t)
        }
        let analytic = model.gradients.array.map(Double.init)
        for tensor in model.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            assertClose(Array(analytic[range]), Array(numeric[range]), absolute: 3e-5, relative: 3e-3, tensor.name)
        }
    }

    func testLossAtInitialisationIsCloseToUniform() throws {
        let config = ModelConfig(vocabularySize: 65, contextLength: 16, layers: 2, heads: 2, width: 32)
        var generator = SeededGenerator(seed: 7)
        let model = try GPT(config: config, generator: &generator)
        let tokens = (0..<64).map { Int32($0 * 17 % 65) }
        let targets = (0..<64).map { Int32($0 * 29 % 65) }
        let loss = try XCTUnwrap(try model.forward(tokens: tokens, targets: targets, batch: 4, time: 16))
        XCTAssertEqual(Double(loss), log(65.0), accuracy: 0.05)
    }

    func testRejectsBadInput() throws {
        let model = try makeModel(tiny)
        XCTAssertThrowsError(try model.forward(tokens: [Int32](repeating: 0, count: 7), batch: 1, time: 7))  // longer than context
        XCTAssertThrowsError(try model.forward(tokens: [0, 7], batch: 1, time: 2))  // id outside vocabulary
        XCTAssertThrowsError(try model.forward(tokens: [0, 1, 2], batch: 1, time: 2))  // wrong count
        XCTAssertThrowsError(try ModelConfig(vocabularySize: 7, contextLength: 6, layers: 2, heads: 3, width: 8).validate())
        XCTAssertThrowsError(try ModelConfig(vocabularySize: 7, contextLength: 0, layers: 2, heads: 2, width: 8).validate())
    }
}
