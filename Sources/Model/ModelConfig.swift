import Core

/// Which network a model directory holds. The engine is built around the Transformer; the LSTM is the
/// recurrent baseline it is compared with (docs/architectures.md).
public enum Architecture: String, Codable, CaseIterable, Sendable {
    case gpt
    case lstm
}

/// Shape of a model: a GPT-2 style Transformer, or (with `architecture` .lstm) an LSTM language model whose
/// `layers` recurrent layers have `width` hidden units and are trained over windows of `contextLength`
/// tokens (`heads` is unused and 1). `Codable` so it is saved beside the weights.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var architecture: Architecture
    public var vocabularySize: Int
    /// Longest sequence the model attends over (nanoGPT's block_size).
    public var contextLength: Int
    public var layers: Int
    public var heads: Int
    /// Embedding width (n_embd); the MLP is 4x this wide.
    public var width: Int

    public init(vocabularySize: Int, contextLength: Int, layers: Int, heads: Int, width: Int, architecture: Architecture = .gpt) {
        self.architecture = architecture
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layers = layers
        self.heads = heads
        self.width = width
    }

    enum CodingKeys: String, CodingKey { case architecture, vocabularySize, contextLength, layers, heads, width }

    /// A config encoded before the LSTM existed has no architecture: it is a GPT.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try container.decodeIfPresent(Architecture.self, forKey: .architecture) ?? .gpt
        vocabularySize = try container.decode(Int.self, forKey: .vocabularySize)
        contextLength = try container.decode(Int.self, forKey: .contextLength)
        layers = try container.decode(Int.self, forKey: .layers)
        heads = try container.decode(Int.self, forKey: .heads)
        width = try container.decode(Int.self, forKey: .width)
    }

    public var headSize: Int { width / heads }

    /// Throws a one-line error for sizes the model cannot be built with.
    public func validate() throws {
        let sizes: [(String, Int)] = [("vocabulary size", vocabularySize), ("context length", contextLength),
                                      ("layers", layers), ("heads", heads), ("width", width)]
        for (name, value) in sizes where value <= 0 {
            throw ModelError.invalidConfig("\(name) must be positive, got \(value)")
        }
        // Bounded before any product is formed, so a hostile config file cannot overflow the size arithmetic.
        for (name, value) in sizes where value > 1 << 30 {
            throw ModelError.invalidConfig("\(name) \(value) is too large")
        }
        guard architecture == .gpt || heads == 1 else {
            throw ModelError.invalidConfig("an LSTM has no attention heads: heads must be 1, got \(heads)")
        }
        guard width % heads == 0 else {
            throw ModelError.invalidConfig("width \(width) is not divisible by heads \(heads)")
        }
        // Keeps every buffer index well inside Int32 range and allocation sane on a laptop.
        guard parameterCount < 2_000_000_000 else { throw ModelError.invalidConfig("model with \(parameterCount) parameters is too large") }
    }

    /// Training FLOPs per token, Kaplan et al. (2020): 6 N for the dense matmuls (forward 2N, backward 4N;
    /// N = all parameters, the tied LM head included) plus 6 L T C for the attention scores and weighted sum.
    /// The same formula as `minigpt estimate`. An LSTM has no attention: 6 N.
    public var trainingFLOPsPerToken: Double {
        let attention = architecture == .gpt ? 6 * Double(layers * contextLength * width) : 0
        return 6 * Double(parameterCount) + attention
    }

    /// Parameters of the model (a GPT's LM head is tied to the token embedding; see `LSTMLayout` for the LSTM's).
    public var parameterCount: Int {
        let c = width
        if architecture == .lstm { return LSTMLayout.parameterCount(vocabulary: vocabularySize, layers: layers, width: c) }
        let perLayer = 12 * c * c + 13 * c  // qkv 3c^2+3c, proj c^2+c, fc 4c^2+4c, fcproj 4c^2+c, two layernorms 4c
        return vocabularySize * c + contextLength * c + layers * perLayer + 2 * c
    }
}

public enum ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidConfig(String)
    case badModelDirectory(path: String, reason: String)
    case badInput(String)
    /// A model of this architecture was given to code that works only with another (e.g. chat with an LSTM).
    case unsupportedArchitecture(Architecture, needed: Architecture)

    public var description: String {
        switch self {
        case .invalidConfig(let message): return "invalid model configuration: \(message)"
        case .badModelDirectory(let path, let reason): return "\(path) is not a usable model directory: \(reason)"
        case .badInput(let message): return message
        case .unsupportedArchitecture(let found, let needed):
            return "this is \(found == .lstm ? "an" : "a") \(found.displayName) model; only \(needed.displayName) models work here"
        }
    }
}

extension Architecture {
    public var displayName: String {
        switch self {
        case .gpt: return "GPT (Transformer)"
        case .lstm: return "LSTM"
        }
    }
}
