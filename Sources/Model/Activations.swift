import Core

/// Everything the forward pass caches for the backward pass, sized for a (B, T) batch. The backward
/// pass keeps a second instance of the same shapes for the gradients (`d` + the forward name).
final class Activations {
    final class Block {
        let ln1: FloatBuffer          // (B, T, C)
        let ln1Mean, ln1Rstd: FloatBuffer  // (B, T)
        let qkv: FloatBuffer          // (B, T, 3C)
        let att: FloatBuffer          // (B, H, T, T) softmaxed scores
        let attOut: FloatBuffer       // (B, T, C) heads concatenated, before the output projection
        let residual2: FloatBuffer    // (B, T, C) residual + attention projection
        let ln2: FloatBuffer          // (B, T, C)
        let ln2Mean, ln2Rstd: FloatBuffer  // (B, T)
        let fc: FloatBuffer           // (B, T, 4C) before GELU
        let gelu: FloatBuffer         // (B, T, 4C)
        let residual3: FloatBuffer    // (B, T, C) residual2 + MLP projection: the block's output

        init(rows n: Int, width c: Int, heads h: Int, batch b: Int, time t: Int) {
            ln1 = FloatBuffer(count: n * c); ln1Mean = FloatBuffer(count: n); ln1Rstd = FloatBuffer(count: n)
            qkv = FloatBuffer(count: n * 3 * c)
            att = FloatBuffer(count: b * h * t * t)
            attOut = FloatBuffer(count: n * c)
            residual2 = FloatBuffer(count: n * c)
            ln2 = FloatBuffer(count: n * c); ln2Mean = FloatBuffer(count: n); ln2Rstd = FloatBuffer(count: n)
            fc = FloatBuffer(count: n * 4 * c)
            gelu = FloatBuffer(count: n * 4 * c)
            residual3 = FloatBuffer(count: n * c)
        }

    }

    let batch: Int
    let time: Int
    let embedded: FloatBuffer       // (B, T, C) token + position embeddings: the residual stream entering block 0
    let blocks: [Block]
    let lnf: FloatBuffer            // (B, T, C)
    let lnfMean, lnfRstd: FloatBuffer  // (B, T)
    let logits: FloatBuffer         // (B, T, V)
    let probs: FloatBuffer          // (B, T, V)
    let losses: FloatBuffer         // (B, T)
    let scratch: FloatBuffer        // (B, T, C) projection output before it joins the residual stream

    init(config: ModelConfig, batch b: Int, time t: Int) {
        let n = b * t, c = config.width
        batch = b
        time = t
        embedded = FloatBuffer(count: n * c)
        blocks = (0..<config.layers).map { _ in Block(rows: n, width: c, heads: config.heads, batch: b, time: t) }
        lnf = FloatBuffer(count: n * c); lnfMean = FloatBuffer(count: n); lnfRstd = FloatBuffer(count: n)
        logits = FloatBuffer(count: n * config.vocabularySize)
        probs = FloatBuffer(count: n * config.vocabularySize)
        losses = FloatBuffer(count: n)
        scratch = FloatBuffer(count: n * 4 * c)
    }

    /// Clears the buffers the backward pass accumulates into. `att` is skipped: as a gradient buffer it is
    /// scratch that attention's backward overwrites (it is the largest buffer at long contexts).
    func zeroForBackward() {
        for buffer in [embedded, lnf, logits] { buffer.fill(0) }
        for block in blocks {
            for buffer in [block.ln1, block.qkv, block.attOut, block.residual2, block.ln2, block.fc, block.gelu, block.residual3] {
                buffer.fill(0)
            }
        }
    }
}
