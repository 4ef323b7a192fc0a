import Core
import Foundation
import Model
import TestSupport
import XCTest

final class LSTMTests: XCTestCase {
    let tiny = ModelConfig(vocabularySize: 7, contextLength: 6, layers: 2, heads: 1, width: 5, architecture: .lstm)

    /// Large random weights, so every gate saturates somewhere and every nonlinearity is exercised.
    func makeModel(_ config: ModelConfig, scale: Float = 0.6, seed: UInt64 = 42) throws -> LSTM {
        let layout = LSTMLayout(config: config)
        return try LSTM(config: config, parameters: FloatBuffer(randomValues(layout.count, scale: scale, seed: seed)))
    }

    func testParameterCountMatchesArchitecture() throws {
        // wte 7*5 + per layer (W_ih 20*5, W_hh 20*5, b 20) + head 7*5 + 7
        let expected = 35 + 2 * (100 + 100 + 20) + 35 + 7
        XCTAssertEqual(tiny.parameterCount, expected)
        XCTAssertEqual(LSTMLayout(config: tiny).count, expected)
        XCTAssertEqual(tiny.parameterTensors.last.map { $0.offset + $0.count }, expected)
    }

    /// The Float forward pass matches the Double reference, and every parameter's gradient (backward through
    /// time, both layers) matches central finite differences of the reference.
    func testWholeModelGradientMatchesFiniteDifferences() throws {
        let model = try makeModel(tiny)
        let b = 2, t = 5
        let tokens: [Int32] = [0, 3, 6, 2, 2, 5, 1, 4, 0, 6]
        let targets: [Int32] = [3, 6, 2, 2, 1, 1, 4, 0, 6, 5]
        let loss = try XCTUnwrap(try model.forward(tokens: tokens, targets: targets, batch: b, time: t))
        let reference = ReferenceLSTM(config: tiny)
        let parameters = model.parameters.array.map(Double.init)
        assertClose(Double(loss), reference.loss(parameters: parameters, tokens: tokens, targets: targets, batch: b, time: t),
                    absolute: 1e-5, relative: 1e-5)
        // Rows come back in (B, T) order although the model works time-major.
        let logits = reference.logits(parameters: parameters, tokens: tokens, batch: b, time: t)
        assertClose(Array(model.logits(row: 7)).map(Double.init), Array(logits[(7 * 7)..<(8 * 7)]), absolute: 1e-5, relative: 1e-5)

        model.zeroGradients()
        model.backward()
        let numeric = finiteDifferenceGradient(of: parameters) {
            reference.loss(parameters: $0, tokens: tokens, targets: targets, batch: b, time: t)
        }
        assertClose(model.gradients.array.map(Double.init), numeric,
                    tensors: model.layout.tensors.map { ($0.name, $0.offset..<($0.offset + $0.count)) }, absolute: 3e-5, relative: 3e-3)
        // Gradients are large enough for the tolerances above to be a real test, and the recurrent weights get one.
        XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-2)
        let hiddenWeight = model.layout.layers[0].hiddenWeight
        XCTAssertGreaterThan(numeric[hiddenWeight..<(hiddenWeight + 4 * 5 * 5)].map(abs).max()!, 1e-3)
    }

    /// The check above can fail: one step dropped from backward through time (the gradient that flows from
    /// h_t to h_{t-1}) is caught by the same tolerances.
    func testToleranceCatchesATruncatedGradient() throws {
        let model = try makeModel(tiny)
        let tokens: [Int32] = [0, 3, 6, 2, 2], targets: [Int32] = [3, 6, 2, 2, 1]
        try model.forward(tokens: tokens, targets: targets, batch: 1, time: 5)
        model.zeroGradients()
        model.backward()
        let full = model.gradients.array.map(Double.init)
        // The same sequence cut into two independent windows loses exactly the gradient across the cut.
        let cut = try makeModel(tiny)
        cut.zeroGradients()
        try cut.forward(tokens: Array(tokens[..<2]), targets: Array(targets[..<2]), batch: 1, time: 2)
        cut.backward(scale: 2 / 5)
        try cut.forward(tokens: Array(tokens[2...]), targets: Array(targets[2...]), batch: 1, time: 3)
        cut.backward(scale: 3 / 5)
        let truncated = cut.gradients.array.map(Double.init)
        let range = model.layout.layers[0].inputWeight..<model.layout.headWeight
        let allowed = zip(full[range], truncated[range]).allSatisfy { abs($0 - $1) <= 3e-5 + 3e-3 * abs($0) }
        XCTAssertFalse(allowed, "a gradient truncated through time passed the gradient check's tolerances")
    }

    /// Decoding one token at a time through a `State` gives the logits of the training forward pass.
    func testStepwiseDecodingMatchesForward() throws {
        let model = try makeModel(tiny, seed: 5)
        let tokens: [Int32] = [4, 1, 1, 6, 0, 2]
        try model.forward(tokens: tokens, batch: 1, time: 6)
        let state = model.makeState()
        for (position, token) in tokens.enumerated() {
            let stepped = Array(try model.step(state, token: Int(token)))
            assertClose(stepped, Array(model.logits(row: position)), absolute: 1e-5, relative: 1e-4, "position \(position)")
        }
        XCTAssertThrowsError(try model.step(state, token: 7))
    }

    func testLossAtInitialisationIsCloseToUniform() throws {
        let config = ModelConfig(vocabularySize: 65, contextLength: 16, layers: 2, heads: 1, width: 32, architecture: .lstm)
        var generator = SeededGenerator(seed: 7)
        let model = try LSTM(config: config, generator: &generator)
        let tokens = (0..<64).map { Int32($0 * 17 % 65) }
        let targets = (0..<64).map { Int32($0 * 29 % 65) }
        let loss = try XCTUnwrap(try model.forward(tokens: tokens, targets: targets, batch: 4, time: 16))
        XCTAssertEqual(Double(loss), log(65.0), accuracy: 0.05)
    }

    func testRejectsBadInputAndTheOtherArchitecture() throws {
        let model = try makeModel(tiny)
        XCTAssertThrowsError(try model.forward(tokens: [Int32](repeating: 0, count: 7), batch: 1, time: 7))
        XCTAssertThrowsError(try model.forward(tokens: [0, 7], batch: 1, time: 2))
        XCTAssertThrowsError(try model.forward(tokens: [0, 1, 2], batch: 1, time: 2))
        var huge = tiny
        huge.width = 1 << 30
        XCTAssertThrowsError(try huge.validate()) { XCTAssertTrue("\($0)".contains("too large"), "\($0)") }
        var lstmWithHeads = tiny
        lstmWithHeads.heads = 2
        XCTAssertThrowsError(try lstmWithHeads.validate())
        var gpt = tiny
        gpt.architecture = .gpt
        XCTAssertThrowsError(try LSTM(config: gpt, parameters: FloatBuffer(count: 1))) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedArchitecture(.gpt, needed: .lstm))
        }
        XCTAssertThrowsError(try GPT(config: tiny, parameters: FloatBuffer(count: tiny.parameterCount))) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedArchitecture(.lstm, needed: .gpt))
        }
    }
}
