import Core

/// An LSTM language model with a hand-written backward pass through time: token embedding, `layers`
/// LSTM layers of width C, a linear head to the V logits. The recurrent baseline the Transformer is
/// compared with (docs/architectures.md). One step of one layer, x_t its input (C), σ the logistic function:
///
///     a   = W_ih x_t + W_hh h_{t-1} + b                 (4C), split into a_i, a_f, a_g, a_o
///     c_t = σ(a_f) * c_{t-1} + σ(a_i) * tanh(a_g)
///     h_t = σ(a_o) * tanh(c_t)
///
/// Every batch row starts from a zero state, as every GPT window starts with no context, so both see the
/// same windows. The input products W_ih x_t of all T steps are one matrix multiply; only h_{t-1} W_hh^T runs
/// step by step. Backward through time runs the steps in reverse; W_hh's gradient is again one multiply
/// over all steps. Parameters, gradients and Adam moments share the flat layout of `LSTMLayout`.
public final class LSTM: LanguageModel {
    public let config: ModelConfig
    public let layout: LSTMLayout
    public let parameters: FloatBuffer
    /// Allocated on first use, so inference-only models do not pay for it.
    public private(set) lazy var gradients = FloatBuffer(count: layout.count)

    private var activations: LSTMActivations?
    private var activationGradients: LSTMActivations?
    private var lastBatch = 0
    private var lastTime = 0
    private var lastTokens: [Int32] = []    // (T, B) time-major
    private var lastTargets: [Int32] = []   // (T, B) time-major

    public init(config: ModelConfig, parameters: FloatBuffer) throws {
        guard config.architecture == .lstm else { throw ModelError.unsupportedArchitecture(config.architecture, needed: .lstm) }
        try config.validate()
        self.config = config
        layout = LSTMLayout(config: config)
        guard parameters.count == layout.count else {
            throw ModelError.invalidConfig("expected \(layout.count) parameters for this configuration, got \(parameters.count)")
        }
        self.parameters = parameters
    }

    /// Embeddings N(0, 1) (inputs of unit scale, like a one-hot); recurrent weights N(0, 1/C) so each
    /// pre-activation starts near unit variance; forget-gate bias 1 so the cell remembers from the start
    /// (Jozefowicz et al., 2015); the head N(0, 0.02), so the first loss is close to ln V.
    public convenience init(config: ModelConfig, generator: inout SeededGenerator) throws {
        guard config.architecture == .lstm else { throw ModelError.unsupportedArchitecture(config.architecture, needed: .lstm) }
        try config.validate()
        let layout = LSTMLayout(config: config)
        let parameters = FloatBuffer(count: layout.count)
        let c = config.width
        let recurrentStd = 1 / Float(c).squareRoot()
        for tensor in layout.tensors where tensor.shape.count == 2 {
            let std: Float = tensor.offset == layout.tokenEmbedding ? 1 : tensor.offset == layout.headWeight ? 0.02 : recurrentStd
            for i in 0..<tensor.count { parameters[tensor.offset + i] = std * generator.nextNormal() }
        }
        for layer in layout.layers { (parameters.pointer + layer.bias + c).update(repeating: 1, count: c) }
        try self.init(config: config, parameters: parameters)
    }

    public var parameterCount: Int { layout.count }
    public var parameterTensors: [ParameterLayout.Tensor] { layout.tensors }

    public func zeroGradients() { gradients.fill(0) }

    public func replica() throws -> any LanguageModel { try LSTM(config: config, parameters: parameters) }

    @discardableResult
    public func forward(tokens: [Int32], targets: [Int32]? = nil, batch b: Int, time t: Int) throws -> Float? {
        try config.validate(tokens: tokens, batch: b, time: t, what: "input")
        if let targets { try config.validate(tokens: targets, batch: b, time: t, what: "target") }
        let n = b * t, c = config.width, v = config.vocabularySize
        let acts = activationsFitting(rows: n, existing: &activations)
        let p = parameters.pointer
        lastBatch = b
        lastTime = t
        lastTokens = Self.timeMajor(tokens, batch: b, time: t)
        lastTargets = targets.map { Self.timeMajor($0, batch: b, time: t) } ?? []

        for (row, token) in lastTokens.enumerated() {
            (acts.embedded.pointer + row * c).update(from: p + layout.tokenEmbedding + Int(token) * c, count: c)
        }
        var input = acts.embedded.pointer
        for (layer, a) in zip(layout.layers, acts.layers) {
            // gates (T*B, 4C) = input (T*B, C) @ W_ih^T + b, for every step at once
            Linear.forward(out: a.gates.pointer, inp: input, weight: p + layer.inputWeight, bias: p + layer.bias,
                           rows: n, inputs: c, outputs: 4 * c)
            for step in 0..<t {
                let gates = a.gates.pointer + step * b * 4 * c
                if step > 0 {
                    // gates (B, 4C) += h_{t-1} (B, C) @ W_hh^T
                    Gemm.blas(transposeA: false, transposeB: true, m: b, n: 4 * c, k: c, alpha: 1,
                              a: a.hidden.pointer + (step - 1) * b * c, lda: c, b: p + layer.hiddenWeight, ldb: c,
                              beta: 1, c: gates, ldc: 4 * c)
                }
                LSTMCell.forward(gates: gates, previousCell: step > 0 ? a.cell.pointer + (step - 1) * b * c : nil,
                                 cell: a.cell.pointer + step * b * c, cellTanh: a.cellTanh.pointer + step * b * c,
                                 hidden: a.hidden.pointer + step * b * c, rows: b, width: c)
            }
            input = a.hidden.pointer
        }
        // logits (T*B, V) = h (T*B, C) @ W_head^T + b_head
        Linear.forward(out: acts.logits.pointer, inp: input, weight: p + layout.headWeight, bias: p + layout.headBias,
                       rows: n, inputs: c, outputs: v)
        guard targets != nil else { return nil }
        lastTargets.withUnsafeBufferPointer { ids in
            CrossEntropy.forward(losses: acts.losses.pointer, probs: acts.probs.pointer, logits: acts.logits.pointer,
                                 targets: ids.baseAddress!, rows: n, vocabulary: v)
        }
        return VectorMath.sum(acts.losses.pointer, n) / Float(n)
    }

    public func logits(row index: Int) -> UnsafeBufferPointer<Float> {
        precondition(index >= 0 && index < lastBatch * lastTime, "logits row out of range")
        let v = config.vocabularySize
        return UnsafeBufferPointer(start: activations!.logits.pointer + timeMajorRow(index) * v, count: v)
    }

    public var lastLosses: [Float] {
        let losses = activations!.losses.pointer
        return (0..<(lastBatch * lastTime)).map { losses[timeMajorRow($0)] }
    }

    /// Accumulates d(scale * mean loss)/d(parameters) into `gradients`. Call `zeroGradients()` first.
    public func backward(scale: Float = 1) {
        let b = lastBatch, t = lastTime, n = b * t, c = config.width, v = config.vocabularySize
        precondition(!lastTargets.isEmpty, "backward needs a forward pass with targets")
        let acts = activations!
        let g = activationsFitting(rows: n, existing: &activationGradients)
        g.zeroForBackward()
        let p = parameters.pointer, dp = gradients.pointer
        let top = acts.layers.count - 1

        let dlosses = [Float](repeating: scale / Float(n), count: n)
        dlosses.withUnsafeBufferPointer { weights in
            lastTargets.withUnsafeBufferPointer { ids in
                CrossEntropy.backward(dlogits: g.logits.pointer, probs: acts.probs.pointer, targets: ids.baseAddress!,
                                      dlosses: weights.baseAddress!, rows: n, vocabulary: v)
            }
        }
        Linear.backward(dinp: g.layers[top].hidden.pointer, dweight: dp + layout.headWeight, dbias: dp + layout.headBias,
                        dout: g.logits.pointer, inp: acts.layers[top].hidden.pointer, weight: p + layout.headWeight,
                        rows: n, inputs: c, outputs: v)
        for index in stride(from: top, through: 0, by: -1) {
            let layer = layout.layers[index], a = acts.layers[index], ga = g.layers[index]
            // ga.hidden holds dL/dh_t from above; each step adds dL/dh_{t-1} and dL/dc_{t-1} for the step before it.
            for step in stride(from: t - 1, through: 0, by: -1) {
                let dgates = ga.gates.pointer + step * b * 4 * c
                LSTMCell.backward(dgates: dgates, dpreviousCell: step > 0 ? ga.cell.pointer + (step - 1) * b * c : nil,
                                  dcell: ga.cell.pointer + step * b * c, dhidden: ga.hidden.pointer + step * b * c,
                                  gates: a.gates.pointer + step * b * 4 * c,
                                  previousCell: step > 0 ? a.cell.pointer + (step - 1) * b * c : nil,
                                  cellTanh: a.cellTanh.pointer + step * b * c, rows: b, width: c)
                if step > 0 {
                    // dh_{t-1} (B, C) += dgates (B, 4C) @ W_hh
                    Gemm.blas(transposeA: false, transposeB: false, m: b, n: c, k: 4 * c, alpha: 1, a: dgates, lda: 4 * c,
                              b: p + layer.hiddenWeight, ldb: c, beta: 1, c: ga.hidden.pointer + (step - 1) * b * c, ldc: c)
                }
            }
            if t > 1 {
                // dW_hh (4C, C) += dgates[1...] ((T-1)*B, 4C)^T @ h[..<T-1] ((T-1)*B, C)
                Gemm.blas(transposeA: true, transposeB: false, m: 4 * c, n: c, k: (t - 1) * b, alpha: 1,
                          a: ga.gates.pointer + b * 4 * c, lda: 4 * c, b: a.hidden.pointer, ldb: c,
                          beta: 1, c: dp + layer.hiddenWeight, ldc: c)
            }
            let input = index == 0 ? acts.embedded.pointer : acts.layers[index - 1].hidden.pointer
            let dinput = index == 0 ? g.embedded.pointer : g.layers[index - 1].hidden.pointer
            Linear.backward(dinp: dinput, dweight: dp + layer.inputWeight, dbias: dp + layer.bias, dout: ga.gates.pointer,
                            inp: input, weight: p + layer.inputWeight, rows: n, inputs: c, outputs: 4 * c)
        }
        for (row, token) in lastTokens.enumerated() {
            VectorMath.add(g.embedded.pointer + row * c, into: dp + layout.tokenEmbedding + Int(token) * c, c)
        }
    }

    // MARK: Decoding

    /// The recurrent state of one sequence being decoded: what a KV cache is to the GPT, but of fixed size,
    /// so an LSTM's context is not bounded by `contextLength` (it was trained on windows that long).
    public final class State {
        let hidden: FloatBuffer     // (L, C)
        let cell: FloatBuffer       // (L, C)
        let gates: FloatBuffer      // (4C) scratch
        let cellTanh: FloatBuffer   // (C) scratch
        let logits: FloatBuffer     // (V)
        /// Tokens consumed so far.
        public internal(set) var count = 0

        init(config: ModelConfig) {
            hidden = FloatBuffer(count: config.layers * config.width)
            cell = FloatBuffer(count: config.layers * config.width)
            gates = FloatBuffer(count: 4 * config.width)
            cellTanh = FloatBuffer(count: config.width)
            logits = FloatBuffer(count: config.vocabularySize)
        }
    }

    public func makeState() -> State { State(config: config) }

    /// Feeds `token` to `state` and returns the logits (V) predicting the next token: a view of the state's
    /// buffer, valid until its next step. The arithmetic is that of `forward` for one row (matrix-vector products).
    public func step(_ state: State, token: Int) throws -> UnsafeBufferPointer<Float> {
        guard token >= 0, token < config.vocabularySize else {
            throw ModelError.badInput("token id \(token) is outside the vocabulary of \(config.vocabularySize)")
        }
        let c = config.width, p = parameters.pointer
        var input = UnsafePointer(p + layout.tokenEmbedding + token * c)
        for (index, layer) in layout.layers.enumerated() {
            let h = state.hidden.pointer + index * c, cell = state.cell.pointer + index * c
            // gates (4C) = W_ih x + b + (after the first token) W_hh h_{t-1}
            state.gates.pointer.update(from: p + layer.bias, count: 4 * c)
            Gemv.blas(rows: 4 * c, columns: c, a: p + layer.inputWeight, lda: c, x: input, beta: 1, y: state.gates.pointer)
            if state.count > 0 {
                Gemv.blas(rows: 4 * c, columns: c, a: p + layer.hiddenWeight, lda: c, x: h, beta: 1, y: state.gates.pointer)
            }
            LSTMCell.forward(gates: state.gates.pointer, previousCell: state.count > 0 ? cell : nil, cell: cell,
                             cellTanh: state.cellTanh.pointer, hidden: h, rows: 1, width: c)
            input = UnsafePointer(h)
        }
        state.logits.pointer.update(from: p + layout.headBias, count: config.vocabularySize)
        Gemv.blas(rows: config.vocabularySize, columns: c, a: p + layout.headWeight, lda: c, x: input, beta: 1,
                  y: state.logits.pointer)
        state.count += 1
        return UnsafeBufferPointer(start: state.logits.pointer, count: config.vocabularySize)
    }

    // MARK: Helpers

    /// (B, T) row-major to (T, B).
    private static func timeMajor(_ values: [Int32], batch b: Int, time t: Int) -> [Int32] {
        (0..<(b * t)).map { values[($0 % b) * t + $0 / b] }
    }

    /// The time-major row of row-major (B, T) row `index`.
    private func timeMajorRow(_ index: Int) -> Int { (index % lastTime) * lastBatch + index / lastTime }

    private func activationsFitting(rows n: Int, existing: inout LSTMActivations?) -> LSTMActivations {
        if let current = existing, current.rows >= n { return current }
        let fresh = LSTMActivations(config: config, rows: n)
        existing = fresh
        return fresh
    }
}
