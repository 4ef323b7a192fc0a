import Core

/// A GPT-2 style decoder-only transformer with a hand-written backward pass.
/// Parameters live in one flat buffer laid out by `ParameterLayout`; gradients use the same layout.
public final class GPT {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let parameters: FloatBuffer
    /// Allocated on first use, so inference-only models do not pay for it.
    public private(set) lazy var gradients = FloatBuffer(count: layout.count)

    private var activations: Activations?
    private var activationGradients: Activations?
    private var lastBatch = 0
    private var lastTime = 0
    private var lastTokens: [Int32] = []
    private var lastTargets: [Int32] = []

    /// Wraps existing parameters (e.g. loaded from a checkpoint).
    public init(config: ModelConfig, parameters: FloatBuffer) throws {
        guard config.architecture == .gpt else { throw ModelError.unsupportedArchitecture(config.architecture, needed: .gpt) }
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        guard parameters.count == layout.count else {
            throw ModelError.invalidConfig("expected \(layout.count) parameters for this configuration, got \(parameters.count)")
        }
        self.parameters = parameters
    }

    /// GPT-2 initialisation: weights and embeddings N(0, 0.02); the two projections that write into the
    /// residual stream N(0, 0.02 / sqrt(2 * layers)); biases 0; LayerNorm gains 1.
    public convenience init(config: ModelConfig, generator: inout SeededGenerator) throws {
        guard config.architecture == .gpt else { throw ModelError.unsupportedArchitecture(config.architecture, needed: .gpt) }
        try config.validate()
        let layout = ParameterLayout(config: config)
        let parameters = FloatBuffer(count: layout.count)
        let residualStd = 0.02 / Float(2 * config.layers).squareRoot()
        for tensor in layout.tensors {
            let name = tensor.name
            let target = parameters.pointer + tensor.offset
            if name.hasSuffix("ln_1.weight") || name.hasSuffix("ln_2.weight") || name == "ln_f.weight" {
                target.update(repeating: 1, count: tensor.count)
            } else if tensor.shape.count == 2 {
                let std: Float = name.hasSuffix("c_proj.weight") ? residualStd : 0.02
                for i in 0..<tensor.count { target[i] = std * generator.nextNormal() }
            }
        }
        try self.init(config: config, parameters: parameters)
    }

    public var parameterCount: Int { layout.count }

    public func zeroGradients() { gradients.fill(0) }

    /// Runs the model on `tokens` (B, T), row-major. With `targets` (B, T) it also computes the
    /// per-position cross-entropy and returns its mean; otherwise returns nil.
    @discardableResult
    public func forward(tokens: [Int32], targets: [Int32]? = nil, batch b: Int, time t: Int) throws -> Float? {
        try config.validate(tokens: tokens, batch: b, time: t, what: "input")
        if let targets { try config.validate(tokens: targets, batch: b, time: t, what: "target") }
        // A forward pass with targets is usually followed by backward, which needs a second set of the same shapes.
        try MemoryBudget.require(Double(targets == nil ? 1 : 2) * config.activationBytes(batch: b, time: t),
                                 for: "a batch of \(b) x \(t) tokens")
        let acts = activationsFitting(batch: b, time: t, existing: &activations)
        let n = b * t, c = config.width, v = config.vocabularySize, h = config.heads
        let p = parameters.pointer
        lastBatch = b
        lastTime = t
        lastTokens = tokens
        lastTargets = targets ?? []

        tokens.withUnsafeBufferPointer { ids in
            Embedding.forward(out: acts.embedded.pointer, tokens: ids.baseAddress!, wte: p + layout.tokenEmbedding,
                              wpe: p + layout.positionEmbedding, batch: b, time: t, width: c)
        }
        var residual = acts.embedded.pointer
        for (block, a) in zip(layout.blocks, acts.blocks) {
            LayerNorm.forward(out: a.ln1.pointer, mean: a.ln1Mean.pointer, rstd: a.ln1Rstd.pointer, inp: residual,
                              weight: p + block.ln1Weight, bias: p + block.ln1Bias, rows: n, width: c)
            Linear.forward(out: a.qkv.pointer, inp: a.ln1.pointer, weight: p + block.qkvWeight, bias: p + block.qkvBias,
                           rows: n, inputs: c, outputs: 3 * c)
            Attention.forward(out: a.attOut.pointer, att: a.att.pointer, qkv: a.qkv.pointer, batch: b, time: t, width: c, heads: h)
            Linear.forward(out: acts.scratch.pointer, inp: a.attOut.pointer, weight: p + block.projWeight,
                           bias: p + block.projBias, rows: n, inputs: c, outputs: c)
            add(residual, acts.scratch.pointer, into: a.residual2.pointer, count: n * c)
            LayerNorm.forward(out: a.ln2.pointer, mean: a.ln2Mean.pointer, rstd: a.ln2Rstd.pointer, inp: a.residual2.pointer,
                              weight: p + block.ln2Weight, bias: p + block.ln2Bias, rows: n, width: c)
            Linear.forward(out: a.fc.pointer, inp: a.ln2.pointer, weight: p + block.fcWeight, bias: p + block.fcBias,
                           rows: n, inputs: c, outputs: 4 * c)
            GELU.forward(out: a.gelu.pointer, inp: a.fc.pointer, count: n * 4 * c)
            Linear.forward(out: acts.scratch.pointer, inp: a.gelu.pointer, weight: p + block.fcProjWeight,
                           bias: p + block.fcProjBias, rows: n, inputs: 4 * c, outputs: c)
            add(a.residual2.pointer, acts.scratch.pointer, into: a.residual3.pointer, count: n * c)
            residual = a.residual3.pointer
        }
        LayerNorm.forward(out: acts.lnf.pointer, mean: acts.lnfMean.pointer, rstd: acts.lnfRstd.pointer, inp: residual,
                          weight: p + layout.finalNormWeight, bias: p + layout.finalNormBias, rows: n, width: c)
        // LM head tied to the token embedding: logits (N, V) = lnf (N, C) @ wte^T
        Linear.forward(out: acts.logits.pointer, inp: acts.lnf.pointer, weight: p + layout.tokenEmbedding, bias: nil,
                       rows: n, inputs: c, outputs: v)
        guard let targets else { return nil }
        targets.withUnsafeBufferPointer { ids in
            CrossEntropy.forward(losses: acts.losses.pointer, probs: acts.probs.pointer, logits: acts.logits.pointer,
                                 targets: ids.baseAddress!, rows: n, vocabulary: v)
        }
        return VectorMath.sum(acts.losses.pointer, n) / Float(n)
    }

    /// Logits (V) of row `index` (0..<B*T) of the last forward pass.
    public func logits(row index: Int) -> UnsafeBufferPointer<Float> {
        precondition(index >= 0 && index < lastBatch * lastTime, "logits row out of range")
        let v = config.vocabularySize
        return UnsafeBufferPointer(start: activations!.logits.pointer + index * v, count: v)
    }

    /// Per-position losses (B * T) of the last forward pass with targets.
    public var lastLosses: [Float] {
        Array(UnsafeBufferPointer(start: activations!.losses.pointer, count: lastBatch * lastTime))
    }

    /// Final hidden state (C), after the last LayerNorm, of row `index` (0..<B*T) of the last forward pass:
    /// what the LM head reads, and what a reward or value head reads.
    public func hiddenState(row index: Int) -> UnsafeBufferPointer<Float> {
        precondition(index >= 0 && index < lastBatch * lastTime, "hidden state row out of range")
        let c = config.width
        return UnsafeBufferPointer(start: activations!.lnf.pointer + index * c, count: c)
    }

    /// Accumulates d(loss)/d(parameters) into `gradients`, where loss = scale * mean of the last
    /// forward pass's per-position losses. Call `zeroGradients()` before the first micro-batch.
    public func backward(scale: Float = 1) {
        let n = lastBatch * lastTime
        backward(positionWeights: [Float](repeating: scale / Float(n), count: n))
    }

    /// Accumulates gradients of sum_i positionWeights[i] * losses[i] (B * T weights), e.g. a mask for
    /// prompt tokens in supervised fine-tuning.
    public func backward(positionWeights: [Float]) {
        backward(positionWeights: positionWeights, hiddenGradient: nil)
    }

    /// The general backward pass: gradients of sum_i positionWeights[i] * losses[i] (needs a forward pass
    /// with targets) plus sum over rows of hiddenGradient (B, T, C) . hiddenState, for heads that read the
    /// final hidden states (reward model, value head). Either part may be nil.
    public func backward(positionWeights: [Float]?, hiddenGradient: [Float]?) {
        let b = lastBatch, t = lastTime, n = b * t
        precondition(positionWeights == nil || !lastTargets.isEmpty, "backward through the loss needs a forward pass with targets")
        precondition(positionWeights.map { $0.count == n } ?? true, "one weight per position")
        precondition(hiddenGradient.map { $0.count == n * config.width } ?? true, "hidden gradient must be (B, T, C)")
        let acts = activations!
        let g = activationsFitting(batch: b, time: t, existing: &activationGradients)
        g.zeroForBackward()
        let c = config.width, v = config.vocabularySize, h = config.heads
        let p = parameters.pointer
        let dp = gradients.pointer

        if let positionWeights {
            positionWeights.withUnsafeBufferPointer { weights in
                lastTargets.withUnsafeBufferPointer { ids in
                    CrossEntropy.backward(dlogits: g.logits.pointer, probs: acts.probs.pointer, targets: ids.baseAddress!,
                                          dlosses: weights.baseAddress!, rows: n, vocabulary: v)
                }
            }
            Linear.backward(dinp: g.lnf.pointer, dweight: dp + layout.tokenEmbedding, dbias: nil, dout: g.logits.pointer,
                            inp: acts.lnf.pointer, weight: p + layout.tokenEmbedding, rows: n, inputs: c, outputs: v)
        }
        if let hiddenGradient {
            hiddenGradient.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: g.lnf.pointer, n * c) }
        }
        let lastBlock = acts.blocks.count - 1
        LayerNorm.backward(dinp: g.blocks[lastBlock].residual3.pointer, dweight: dp + layout.finalNormWeight,
                           dbias: dp + layout.finalNormBias, dout: g.lnf.pointer, inp: acts.blocks[lastBlock].residual3.pointer,
                           weight: p + layout.finalNormWeight, mean: acts.lnfMean.pointer, rstd: acts.lnfRstd.pointer,
                           rows: n, width: c)
        for index in stride(from: lastBlock, through: 0, by: -1) {
            let block = layout.blocks[index]
            let a = acts.blocks[index], ga = g.blocks[index]
            let residual = index == 0 ? acts.embedded.pointer : acts.blocks[index - 1].residual3.pointer
            let dresidual = index == 0 ? g.embedded.pointer : g.blocks[index - 1].residual3.pointer
            // residual3 = residual2 + mlp(ln2(residual2))
            VectorMath.add(ga.residual3.pointer, into: ga.residual2.pointer, n * c)
            Linear.backward(dinp: ga.gelu.pointer, dweight: dp + block.fcProjWeight, dbias: dp + block.fcProjBias,
                            dout: ga.residual3.pointer, inp: a.gelu.pointer, weight: p + block.fcProjWeight,
                            rows: n, inputs: 4 * c, outputs: c)
            GELU.backward(dinp: ga.fc.pointer, inp: a.fc.pointer, dout: ga.gelu.pointer, count: n * 4 * c)
            Linear.backward(dinp: ga.ln2.pointer, dweight: dp + block.fcWeight, dbias: dp + block.fcBias, dout: ga.fc.pointer,
                            inp: a.ln2.pointer, weight: p + block.fcWeight, rows: n, inputs: c, outputs: 4 * c)
            LayerNorm.backward(dinp: ga.residual2.pointer, dweight: dp + block.ln2Weight, dbias: dp + block.ln2Bias,
                               dout: ga.ln2.pointer, inp: a.residual2.pointer, weight: p + block.ln2Weight,
                               mean: a.ln2Mean.pointer, rstd: a.ln2Rstd.pointer, rows: n, width: c)
            // residual2 = residual + attention(ln1(residual))
            VectorMath.add(ga.residual2.pointer, into: dresidual, n * c)
            Linear.backward(dinp: ga.attOut.pointer, dweight: dp + block.projWeight, dbias: dp + block.projBias,
                            dout: ga.residual2.pointer, inp: a.attOut.pointer, weight: p + block.projWeight,
                            rows: n, inputs: c, outputs: c)
            Attention.backward(dqkv: ga.qkv.pointer, datt: ga.att.pointer, dout: ga.attOut.pointer, qkv: a.qkv.pointer,
                               att: a.att.pointer, batch: b, time: t, width: c, heads: h)
            Linear.backward(dinp: ga.ln1.pointer, dweight: dp + block.qkvWeight, dbias: dp + block.qkvBias, dout: ga.qkv.pointer,
                            inp: a.ln1.pointer, weight: p + block.qkvWeight, rows: n, inputs: c, outputs: 3 * c)
            LayerNorm.backward(dinp: dresidual, dweight: dp + block.ln1Weight, dbias: dp + block.ln1Bias, dout: ga.ln1.pointer,
                               inp: residual, weight: p + block.ln1Weight, mean: a.ln1Mean.pointer, rstd: a.ln1Rstd.pointer,
                               rows: n, width: c)
        }
        lastTokens.withUnsafeBufferPointer { ids in
            Embedding.backward(dwte: dp + layout.tokenEmbedding, dwpe: dp + layout.positionEmbedding, dout: g.embedded.pointer,
                               tokens: ids.baseAddress!, batch: b, time: t, width: c)
        }
    }

    /// Reuses the cached buffers when the batch fits them, otherwise allocates new ones.
    private func activationsFitting(batch b: Int, time t: Int, existing: inout Activations?) -> Activations {
        if let current = existing, b * t <= current.batch * current.time, b * t * t <= current.batch * current.time * current.time {
            return current
        }
        let fresh = Activations(config: config, batch: b, time: t)
        existing = fresh
        return fresh
    }

    private func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = x[i] + y[i] }
    }
}
