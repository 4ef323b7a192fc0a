/// Where each named tensor sits in the one flat parameter buffer. Gradients and both Adam moments use
/// the same layout, so zeroing gradients is one fill and the optimizer is one loop (as in llm.c).
/// Weight matrices are stored (out, in), like PyTorch's nn.Linear; the LM head reuses `wte`.
public struct ParameterLayout: Sendable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        /// AdamW decays only 2-D weight matrices (embeddings included), never biases or LayerNorm gains.
        public var decays: Bool { shape.count == 2 }
    }

    /// Offsets of one transformer block's tensors.
    public struct Block: Sendable {
        public let ln1Weight, ln1Bias: Int          // (C), (C)
        public let qkvWeight, qkvBias: Int          // (3C, C), (3C)
        public let projWeight, projBias: Int        // (C, C), (C)
        public let ln2Weight, ln2Bias: Int          // (C), (C)
        public let fcWeight, fcBias: Int            // (4C, C), (4C)
        public let fcProjWeight, fcProjBias: Int    // (C, 4C), (C)
    }

    public let tensors: [Tensor]
    public let tokenEmbedding: Int      // wte (V, C)
    public let positionEmbedding: Int   // wpe (T, C)
    public let blocks: [Block]
    public let finalNormWeight: Int     // (C)
    public let finalNormBias: Int       // (C)
    public let count: Int

    public init(config: ModelConfig) {
        var tensors: [Tensor] = []
        var next = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let tensor = Tensor(name: name, shape: shape, offset: next)
            tensors.append(tensor)
            next += tensor.count
            return tensor.offset
        }
        let c = config.width
        tokenEmbedding = add("wte", [config.vocabularySize, c])
        positionEmbedding = add("wpe", [config.contextLength, c])
        blocks = (0..<config.layers).map { layer in
            let p = "h.\(layer)."
            return Block(ln1Weight: add(p + "ln_1.weight", [c]), ln1Bias: add(p + "ln_1.bias", [c]),
                         qkvWeight: add(p + "attn.c_attn.weight", [3 * c, c]), qkvBias: add(p + "attn.c_attn.bias", [3 * c]),
                         projWeight: add(p + "attn.c_proj.weight", [c, c]), projBias: add(p + "attn.c_proj.bias", [c]),
                         ln2Weight: add(p + "ln_2.weight", [c]), ln2Bias: add(p + "ln_2.bias", [c]),
                         fcWeight: add(p + "mlp.c_fc.weight", [4 * c, c]), fcBias: add(p + "mlp.c_fc.bias", [4 * c]),
                         fcProjWeight: add(p + "mlp.c_proj.weight", [c, 4 * c]), fcProjBias: add(p + "mlp.c_proj.bias", [c]))
        }
        finalNormWeight = add("ln_f.weight", [c])
        finalNormBias = add("ln_f.bias", [c])
        self.tensors = tensors
        count = next
    }
}
