import Core

/// The inference-only forward pass of a `GPT`, working on `KVCache`s: nothing is kept for a backward pass,
/// each position's keys and values are computed once and reused by every later token.
///
/// Two entry points:
/// - `extend(_:with:)` runs a chunk of T tokens of one sequence (the prompt: "prefill") as matrix-matrix
///   work through sgemm, with causal attention over the cached positions plus the chunk, and returns the
///   logits after the last token only (the others are never needed for generation).
/// - `step(_:tokens:)` runs one new token for each of n sequences (decoding), each at its own position in
///   its own cache. Batch-1 decoding is matrix-vector work (sgemv). With n > 1 every row still goes through
///   exactly the arithmetic of a batch of one, so a sequence decoded in a batch gives bit-for-bit the
///   logits it gets alone (the batched generator's results equal one-at-a-time results).
///
/// Logits are returned as views of buffers the engine owns, valid until its next call. One engine serves
/// any number of caches of its model, one call at a time (it is not thread-safe).
public final class InferenceEngine {
    public let model: GPT
    /// The weights decoding steps multiply by (prefill always uses the fp32 weights through sgemm).
    public let decodeWeights: DecodeWeights
    private let quantized: QuantizedWeights?
    private var scratch: Scratch
    /// How `step` multiplies n > 1 fp32 decoding rows by the weights; row by row unless set.
    public var batchedDecoding: BatchedDecoding = .rowByRow

    public init(model: GPT) {
        self.model = model
        decodeWeights = .float32
        quantized = nil
        scratch = Scratch(config: model.config, rows: 1)
    }

    /// With `.int8`, decoding multiplies by int8 copies of the weight matrices and the LM head (one scale per
    /// row, `QuantizedMatrix`): a quarter of the bytes to stream per token, at the price of logits that differ
    /// from fp32 by the quantization error. Needs a width that is a multiple of 64.
    public init(model: GPT, decodeWeights: DecodeWeights) throws {
        self.model = model
        self.decodeWeights = decodeWeights
        quantized = decodeWeights == .int8 ? try QuantizedWeights(model: model) : nil
        scratch = Scratch(config: model.config, rows: 1)
    }

    public var config: ModelConfig { model.config }

    /// A fresh, empty cache for this engine's model.
    public func makeCache() -> KVCache { KVCache(config: model.config) }

    /// Runs `tokens` at positions `cache.count ..< cache.count + tokens.count`, appends their keys and values
    /// to `cache`, and returns the logits (V) that predict the token after the last one.
    /// Throws when the chunk is empty, does not fit in the cache, or holds an id outside the vocabulary.
    public func extend(_ cache: KVCache, with tokens: [Int]) throws -> UnsafeBufferPointer<Float> {
        try check(cache)
        guard !tokens.isEmpty else { throw ModelError.badInput("nothing to run: the token chunk is empty") }
        guard tokens.count <= cache.remaining else {
            throw ModelError.badInput("\(tokens.count) tokens do not fit in the cache: \(cache.count) of \(cache.capacity) positions are used")
        }
        try checkIDs(tokens)
        if tokens.count == 1 { return try step([cache], tokens: tokens).first! }
        let t = tokens.count, start = cache.count
        let s = prepare(rows: t)
        for (row, token) in tokens.enumerated() { embed(token: token, position: start + row, into: s.x.pointer + row * config.width) }
        runBlocks(rows: t, chunk: true, scratch: s) { layer in
            self.chunkAttention(cache: cache, layer: layer, start: start, rows: t, scratch: s)
        }
        cache.count += t
        finalLogits(rows: [t - 1], scratch: s, chunk: true)
        return UnsafeBufferPointer(start: s.logits.pointer, count: config.vocabularySize)
    }

    /// Runs one token per cache (`tokens[i]` at position `caches[i].count`), appends the keys and values, and
    /// returns each sequence's next-token logits (V each). Throws when a cache is full or appears twice.
    public func step(_ caches: [KVCache], tokens: [Int]) throws -> [UnsafeBufferPointer<Float>] {
        guard caches.count == tokens.count, !caches.isEmpty else {
            throw ModelError.badInput("step needs one token per cache, got \(tokens.count) tokens for \(caches.count) caches")
        }
        guard Set(caches.map(ObjectIdentifier.init)).count == caches.count else {
            throw ModelError.badInput("a cache appears twice in one step")
        }
        for cache in caches {
            try check(cache)
            guard cache.remaining >= 1 else { throw ModelError.badInput("the cache is full: all \(cache.capacity) positions are used") }
        }
        try checkIDs(tokens)
        let n = caches.count, c = config.width
        let s = prepare(rows: n)
        for row in 0..<n { embed(token: tokens[row], position: caches[row].count, into: s.x.pointer + row * c) }
        runBlocks(rows: n, chunk: false, scratch: s) { layer in
            for row in 0..<n { self.rowAttention(cache: caches[row], layer: layer, row: row, scratch: s) }
        }
        for cache in caches { cache.count += 1 }
        finalLogits(rows: Array(0..<n), scratch: s, chunk: false)
        let v = config.vocabularySize
        return (0..<n).map { UnsafeBufferPointer(start: s.logits.pointer + $0 * v, count: v) }
    }

    // MARK: The forward pass

    /// Everything but attention, for `rows` rows of the residual stream in `scratch.x`. `attention(layer)`
    /// reads `qkv`, stores the keys and values in the cache(s) and writes `attOut`. `chunk`: the rows are
    /// consecutive positions of one sequence (matrix-matrix products) rather than independent decoding rows.
    private func runBlocks(rows n: Int, chunk: Bool, scratch s: Scratch, attention: (Int) -> Void) {
        let c = config.width
        let p = model.parameters.pointer
        for (layer, block) in model.layout.blocks.enumerated() {
            let q = chunk ? nil : quantized?.blocks[layer]
            LayerNorm.forward(out: s.ln.pointer, mean: s.mean.pointer, rstd: s.rstd.pointer, inp: s.x.pointer,
                              weight: p + block.ln1Weight, bias: p + block.ln1Bias, rows: n, width: c)
            linear(out: s.qkv.pointer, inp: s.ln.pointer, weight: p + block.qkvWeight, bias: p + block.qkvBias,
                   rows: n, inputs: c, outputs: 3 * c, chunk: chunk, quantized: q?.qkv)
            attention(layer)
            linear(out: s.projected.pointer, inp: s.attOut.pointer, weight: p + block.projWeight, bias: p + block.projBias,
                   rows: n, inputs: c, outputs: c, chunk: chunk, quantized: q?.proj)
            VectorMath.add(s.projected.pointer, into: s.x.pointer, n * c)
            LayerNorm.forward(out: s.ln.pointer, mean: s.mean.pointer, rstd: s.rstd.pointer, inp: s.x.pointer,
                              weight: p + block.ln2Weight, bias: p + block.ln2Bias, rows: n, width: c)
            linear(out: s.fc.pointer, inp: s.ln.pointer, weight: p + block.fcWeight, bias: p + block.fcBias,
                   rows: n, inputs: c, outputs: 4 * c, chunk: chunk, quantized: q?.fc)
            GELU.forward(out: s.gelu.pointer, inp: s.fc.pointer, count: n * 4 * c)
            linear(out: s.projected.pointer, inp: s.gelu.pointer, weight: p + block.fcProjWeight, bias: p + block.fcProjBias,
                   rows: n, inputs: 4 * c, outputs: c, chunk: chunk, quantized: q?.fcProj)
            VectorMath.add(s.projected.pointer, into: s.x.pointer, n * c)
        }
    }

    /// x (C) = wte[token] + wpe[position]
    private func embed(token: Int, position: Int, into x: UnsafeMutablePointer<Float>) {
        let c = config.width
        let p = model.parameters.pointer
        let wte = p + model.layout.tokenEmbedding + token * c
        let wpe = p + model.layout.positionEmbedding + position * c
        for i in 0..<c { x[i] = wte[i] + wpe[i] }
    }

    /// Final LayerNorm of the listed rows of x, then logits row j (V) = lnf(x[rows[j]]) @ wte^T (tied head).
    private func finalLogits(rows: [Int], scratch s: Scratch, chunk: Bool) {
        let c = config.width, v = config.vocabularySize
        let p = model.parameters.pointer
        for (j, row) in rows.enumerated() {
            LayerNorm.forward(out: s.ln.pointer, mean: s.mean.pointer, rstd: s.rstd.pointer, inp: s.x.pointer + row * c,
                              weight: p + model.layout.finalNormWeight, bias: p + model.layout.finalNormBias, rows: 1, width: c)
            if !chunk, let head = quantized?.head {
                head.multiply(s.ln.pointer, bias: nil, into: s.logits.pointer + j * v)
            } else {
                Gemv.blas(rows: v, columns: c, a: p + model.layout.tokenEmbedding, lda: c, x: s.ln.pointer, beta: 0,
                          y: s.logits.pointer + j * v)
            }
        }
    }

    /// out (N, OC) = inp (N, C) @ weight^T + bias. A chunk of one sequence (N > 1 in `extend`) is one sgemm;
    /// decoding rows are independent sgemv calls, so a row's result never depends on what else is in the batch,
    /// unless `batchedDecoding` is `.matrix` (fp32 only): then N > 1 decoding rows are one sgemm too.
    private func linear(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>, rows n: Int, inputs c: Int, outputs oc: Int, chunk: Bool,
                        quantized: QuantizedMatrix?) {
        if n > 1 && (chunk || (batchedDecoding == .matrix && quantized == nil)) {
            Linear.forward(out: out, inp: inp, weight: weight, bias: bias, rows: n, inputs: c, outputs: oc)
            return
        }
        if let quantized {
            for row in 0..<n { quantized.multiply(inp + row * c, bias: bias, into: out + row * oc) }
            return
        }
        for row in 0..<n {
            let y = out + row * oc
            y.update(from: bias, count: oc)
            Gemv.blas(rows: oc, columns: c, a: weight, lda: c, x: inp + row * c, beta: 1, y: y)
        }
    }

    /// Attention of one decoding row: its query (row `row` of qkv) against positions 0...p of `cache`,
    /// where p = cache.count is the row's own position (its key and value are stored first).
    /// For each head: s_t = q . k_t / sqrt(hs), p = softmax(s), y = sum_t p_t v_t.
    private func rowAttention(cache: KVCache, layer: Int, row: Int, scratch s: Scratch) {
        let c = config.width, h = config.heads, hs = c / h
        let position = cache.count
        let qkv = s.qkv.pointer + row * 3 * c
        let keys = cache.keys[layer].pointer, values = cache.values[layer].pointer
        (keys + position * c).update(from: qkv + c, count: c)
        (values + position * c).update(from: qkv + 2 * c, count: c)
        let length = position + 1
        let scale = 1 / Float(hs).squareRoot()
        let scores = s.scores.pointer
        let y = s.attOut.pointer + row * c
        for head in 0..<h {
            let q = qkv + head * hs, out = y + head * hs
            for t in 0..<length { scores[t] = scale * Self.dot(q, keys + t * c + head * hs, hs) }
            Softmax.inPlace(scores, count: length)
            out.update(repeating: 0, count: hs)
            for t in 0..<length { Self.addScaled(scores[t], values + t * c + head * hs, into: out, hs) }
        }
    }

    // Attention's inner loops, here rather than in Core so that they inline (a cross-module call per
    // 64-element dot product cost 12% of decoding), and on the calling thread (OpenBLAS's threaded sgemv
    // for these small products lost more than it gained on a shared machine).
    typealias Vector = SIMD16<Float>

    @inline(__always) private static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i + 16 <= n {
            acc.addProduct(UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self), UnsafeRawPointer(y + i).loadUnaligned(as: Vector.self))
            i += 16
        }
        var total = acc.sum()
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// y += a * x
    @inline(__always) private static func addScaled(_ a: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 16 <= n {
            let sum = UnsafeRawPointer(y + i).loadUnaligned(as: Vector.self) + a * UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: Vector.self)
            i += 16
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// Causal attention of a chunk of `rows` consecutive positions `start ..< start + rows` of one sequence,
    /// through sgemm per head: the chunk's keys and values are stored, then query rows r0..<r1 (a block of
    /// 64) attend to cached positions 0 ..< start + r1 with row i masked to start + i + 1 positions.
    private func chunkAttention(cache: KVCache, layer: Int, start: Int, rows t: Int, scratch s: Scratch) {
        let c = config.width, h = config.heads, hs = c / h
        let keys = cache.keys[layer].pointer, values = cache.values[layer].pointer
        for row in 0..<t {
            let qkv = s.qkv.pointer + row * 3 * c
            (keys + (start + row) * c).update(from: qkv + c, count: c)
            (values + (start + row) * c).update(from: qkv + 2 * c, count: c)
        }
        let scale = 1 / Float(hs).squareRoot()
        let ld = cache.capacity
        let scores = s.scores.pointer  // (64, capacity)
        for head in 0..<h {
            let q = s.qkv.pointer + head * hs
            let k = keys + head * hs, v = values + head * hs
            let y = s.attOut.pointer + head * hs
            for r0 in stride(from: 0, to: t, by: Scratch.blockRows) {
                let r1 = min(r0 + Scratch.blockRows, t)
                let visible = start + r1
                // scores (R, visible) = scale * q[r0..<r1] (R, hs) @ k[0..<visible]^T
                Gemm.blas(transposeA: false, transposeB: true, m: r1 - r0, n: visible, k: hs, alpha: scale,
                          a: q + r0 * 3 * c, lda: 3 * c, b: k, ldb: c, beta: 0, c: scores, ldc: ld)
                for row in r0..<r1 {
                    Softmax.causalRow(scores + (row - r0) * ld, valid: start + row + 1, length: visible)
                }
                // y[r0..<r1] (R, hs) = P (R, visible) @ v[0..<visible] (visible, hs)
                Gemm.blas(transposeA: false, transposeB: false, m: r1 - r0, n: hs, k: visible, alpha: 1,
                          a: scores, lda: ld, b: v, ldb: c, beta: 0, c: y + r0 * c, ldc: c)
            }
        }
    }

    // MARK: Checks and buffers

    private func check(_ cache: KVCache) throws {
        guard cache.layers == config.layers, cache.width == config.width, cache.capacity == config.contextLength else {
            throw ModelError.badInput("the cache was made for a different model shape")
        }
    }

    private func checkIDs(_ tokens: [Int]) throws {
        let v = config.vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= v }) {
            throw ModelError.badInput("token id \(bad) is outside the vocabulary of \(v)")
        }
    }

    private func prepare(rows n: Int) -> Scratch {
        if scratch.rows < n { scratch = Scratch(config: config, rows: n) }
        return scratch
    }

    /// Working buffers for up to `rows` rows (chunk positions or batch sequences).
    final class Scratch {
        static let blockRows = 64
        let rows: Int
        let x: FloatBuffer          // (R, C) residual stream
        let ln: FloatBuffer         // (R, C) LayerNorm output
        let mean, rstd: FloatBuffer // (R)
        let qkv: FloatBuffer        // (R, 3C)
        let attOut: FloatBuffer     // (R, C)
        let projected: FloatBuffer  // (R, C) a projection before it joins the residual stream
        let fc, gelu: FloatBuffer   // (R, 4C)
        let scores: FloatBuffer     // (64, T) one head's block of attention rows
        let logits: FloatBuffer     // (R, V)

        init(config: ModelConfig, rows n: Int) {
            let c = config.width
            rows = n
            x = FloatBuffer(count: n * c)
            ln = FloatBuffer(count: n * c)
            mean = FloatBuffer(count: n)
            rstd = FloatBuffer(count: n)
            qkv = FloatBuffer(count: n * 3 * c)
            attOut = FloatBuffer(count: n * c)
            projected = FloatBuffer(count: n * c)
            fc = FloatBuffer(count: n * 4 * c)
            gelu = FloatBuffer(count: n * 4 * c)
            scores = FloatBuffer(count: Scratch.blockRows * config.contextLength)
            logits = FloatBuffer(count: n * config.vocabularySize)
        }
    }

    /// int8 copies of every weight matrix decoding multiplies by.
    final class QuantizedWeights {
        struct Block { let qkv, proj, fc, fcProj: QuantizedMatrix }
        let blocks: [Block]
        let head: QuantizedMatrix  // wte (V, C), the tied LM head

        init(model: GPT) throws {
            let c = model.config.width
            let p = model.parameters.pointer
            do {
                blocks = try model.layout.blocks.map { b in
                    Block(qkv: try QuantizedMatrix(weights: p + b.qkvWeight, rows: 3 * c, columns: c),
                          proj: try QuantizedMatrix(weights: p + b.projWeight, rows: c, columns: c),
                          fc: try QuantizedMatrix(weights: p + b.fcWeight, rows: 4 * c, columns: c),
                          fcProj: try QuantizedMatrix(weights: p + b.fcProjWeight, rows: c, columns: 4 * c))
                }
                head = try QuantizedMatrix(weights: p + model.layout.tokenEmbedding, rows: model.config.vocabularySize, columns: c)
            } catch {
                throw ModelError.badInput("int8 decoding needs a model width that is a multiple of 64, this model's is \(c)")
            }
        }
    }
}

/// How a decoding step of n > 1 sequences multiplies their rows by an fp32 weight matrix.
public enum BatchedDecoding: String, Codable, Sendable, CaseIterable {
    /// One matrix-vector product per row: each row's logits are bit for bit those of a batch of one, but the
    /// weights are streamed from memory once per row.
    case rowByRow = "rows"
    /// One matrix-matrix product over all rows: the weights are read once per step, so n sequences cost
    /// little more than one; a row's logits may then differ from a batch of one in the last bits.
    case matrix
}

/// The precision of the weights used for decoding steps.
public enum DecodeWeights: String, Codable, Sendable, CaseIterable {
    case float32
    case int8
}
