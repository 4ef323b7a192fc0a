/// Where each tensor of an LSTM language model sits in its one flat parameter buffer (shared, as for the
/// GPT, by gradients and both Adam moments). Gates are stacked in PyTorch's order: input, forget, cell, output.
/// One bias per layer (PyTorch's b_ih + b_hh folded into one). The LM head is not tied to the embedding: the
/// LSTM's hidden state lives in (-1, 1), unlike the embeddings it would share a matrix with.
public struct LSTMLayout: Sendable {
    /// Offsets of one recurrent layer's tensors.
    public struct Layer: Sendable {
        public let inputWeight: Int     // (4C, C) applied to the layer's input x_t
        public let hiddenWeight: Int    // (4C, C) applied to the previous hidden state h_{t-1}
        public let bias: Int            // (4C)
    }

    public let tensors: [ParameterLayout.Tensor]
    public let tokenEmbedding: Int      // wte (V, C)
    public let layers: [Layer]
    public let headWeight: Int          // (V, C)
    public let headBias: Int            // (V)
    public let count: Int

    public init(config: ModelConfig) {
        var tensors: [ParameterLayout.Tensor] = []
        var next = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let tensor = ParameterLayout.Tensor(name: name, shape: shape, offset: next)
            tensors.append(tensor)
            next += tensor.count
            return tensor.offset
        }
        let c = config.width, v = config.vocabularySize
        tokenEmbedding = add("wte", [v, c])
        layers = (0..<config.layers).map { layer in
            let p = "lstm.\(layer)."
            return Layer(inputWeight: add(p + "weight_ih", [4 * c, c]), hiddenWeight: add(p + "weight_hh", [4 * c, c]),
                         bias: add(p + "bias", [4 * c]))
        }
        headWeight = add("lm_head.weight", [v, c])
        headBias = add("lm_head.bias", [v])
        self.tensors = tensors
        count = next
    }
}
