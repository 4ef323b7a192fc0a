import Core

/// What training, evaluation and the model directory need from a language model, whatever its
/// architecture (`GPT`, `LSTM`): one flat parameter buffer with a gradient buffer of the same layout,
/// a forward pass over a (B, T) batch of windows with a mean next-token loss, and its backward pass.
public protocol LanguageModel: AnyObject {
    var config: ModelConfig { get }
    /// Every named tensor with its offset in `parameters` (and `gradients`, and the optimizer's moments).
    var parameterTensors: [ParameterLayout.Tensor] { get }
    var parameters: FloatBuffer { get }
    var gradients: FloatBuffer { get }
    var parameterCount: Int { get }
    func zeroGradients()
    /// Runs the model on `tokens` (B, T), row-major; with `targets` (B, T) returns the mean cross-entropy.
    @discardableResult
    func forward(tokens: [Int32], targets: [Int32]?, batch: Int, time: Int) throws -> Float?
    /// Accumulates d(scale * mean loss of the last forward pass)/d(parameters) into `gradients`.
    func backward(scale: Float)
    /// Per-position losses (B * T, row-major) of the last forward pass with targets.
    var lastLosses: [Float] { get }
    /// Logits (V) of row `index` (0..<B*T, row-major) of the last forward pass.
    func logits(row index: Int) -> UnsafeBufferPointer<Float>
    /// A model sharing this one's parameters, with its own gradients and activations (one per training thread).
    func replica() throws -> any LanguageModel
}

extension ModelConfig {
    /// Throws unless `tokens` is a (B, T) batch, 1 <= T <= contextLength, of ids inside the vocabulary.
    func validate(tokens: [Int32], batch b: Int, time t: Int, what: String) throws {
        guard b >= 1, t >= 1 else { throw ModelError.badInput("batch and time must be at least 1, got \(b) x \(t)") }
        guard t <= contextLength else {
            throw ModelError.badInput("sequence of \(t) tokens is longer than the context length \(contextLength)")
        }
        guard let n = Checked.product(b, t), tokens.count == n else { throw ModelError.badInput("expected \(b) x \(t) \(what) tokens, got \(tokens.count)") }
        let v = Int32(vocabularySize)
        if let bad = tokens.first(where: { $0 < 0 || $0 >= v }) {
            throw ModelError.badInput("\(what) token id \(bad) is outside the vocabulary of \(v)")
        }
    }

    /// The tensors of this configuration's architecture, in buffer order.
    public var parameterTensors: [ParameterLayout.Tensor] {
        switch architecture {
        case .gpt: return ParameterLayout(config: self).tensors
        case .lstm: return LSTMLayout(config: self).tensors
        }
    }

    /// A freshly initialised model of this configuration.
    public func makeModel(generator: inout SeededGenerator) throws -> any LanguageModel {
        switch architecture {
        case .gpt: return try GPT(config: self, generator: &generator)
        case .lstm: return try LSTM(config: self, generator: &generator)
        }
    }

    /// A model of this configuration over existing parameters (e.g. loaded from a checkpoint).
    public func makeModel(parameters: FloatBuffer) throws -> any LanguageModel {
        switch architecture {
        case .gpt: return try GPT(config: self, parameters: parameters)
        case .lstm: return try LSTM(config: self, parameters: parameters)
        }
    }
}

extension GPT: LanguageModel {
    public var parameterTensors: [ParameterLayout.Tensor] { layout.tensors }

    public func replica() throws -> any LanguageModel { try GPT(config: config, parameters: parameters) }
}
