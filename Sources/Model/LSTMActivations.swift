import Core

/// Everything the LSTM's forward pass caches for its backward pass, sized for a (B, T) batch and stored
/// time-major, (T, B, ·), so that one time step's B rows are contiguous for the recurrent matrix multiply.
/// The backward pass keeps a second instance of the same shapes for the gradients (`d` + the forward name).
final class LSTMActivations {
    final class Layer {
        let gates: FloatBuffer      // (T, B, 4C) i, f, g, o after their nonlinearities (as gradients: d of the pre-activations)
        let cell: FloatBuffer       // (T, B, C) c_t
        let cellTanh: FloatBuffer   // (T, B, C) tanh(c_t)
        let hidden: FloatBuffer     // (T, B, C) h_t: the layer's output, the next layer's input

        init(rows n: Int, width c: Int) {
            gates = FloatBuffer(count: n * 4 * c)
            cell = FloatBuffer(count: n * c)
            cellTanh = FloatBuffer(count: n * c)
            hidden = FloatBuffer(count: n * c)
        }
    }

    let rows: Int
    let embedded: FloatBuffer       // (T, B, C) token embeddings: the first layer's input
    let layers: [Layer]
    let logits: FloatBuffer         // (T, B, V)
    let probs: FloatBuffer          // (T, B, V)
    let losses: FloatBuffer         // (T, B)

    init(config: ModelConfig, rows n: Int) {
        let c = config.width, v = config.vocabularySize
        rows = n
        embedded = FloatBuffer(count: n * c)
        layers = (0..<config.layers).map { _ in Layer(rows: n, width: c) }
        logits = FloatBuffer(count: n * v)
        probs = FloatBuffer(count: n * v)
        losses = FloatBuffer(count: n)
    }

    /// Clears what the backward pass accumulates into (`gates` and `cellTanh` are overwritten, not accumulated).
    func zeroForBackward() {
        for buffer in [embedded, logits] { buffer.fill(0) }
        for layer in layers {
            layer.cell.fill(0)
            layer.hidden.fill(0)
        }
    }
}
