import Core
import Foundation

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
        guard let count = checkedParameterCount, count < 2_000_000_000 else {
            throw ModelError.invalidConfig("model with \(String(format: "%.3g", exactParameterCount)) parameters is too large (at most 2e9)")
        }
    }

    /// Training FLOPs per token, Kaplan et al. (2020): 6 N for the dense matmuls (forward 2N, backward 4N;
    /// N = all parameters, the tied LM head included) plus 6 L T C for the attention scores and weighted sum.
    /// The same formula as `minigpt estimate`. An LSTM has no attention: 6 N.
    public var trainingFLOPsPerToken: Double {
        let attention = architecture == .gpt ? 6 * Double(layers) * Double(contextLength) * Double(width) : 0
        return 6 * exactParameterCount + attention
    }

    /// Parameters of the model (a GPT's LM head is tied to the token embedding; see `LSTMLayout` for the
    /// LSTM's); `Int.max` when the count does not fit an Int (a config that `validate()` refuses), so no size
    /// a user gives can trap here.
    public var parameterCount: Int { checkedParameterCount ?? Int.max }

    /// The parameter count in Double: exact below 2^53, never overflows (for messages and FLOP estimates).
    public var exactParameterCount: Double {
        let (v, c, l) = (Double(vocabularySize), Double(width), Double(layers))
        switch architecture {
        case .gpt: return v * c + Double(contextLength) * c + l * (12 * c * c + 13 * c) + 2 * c
        case .lstm: return 2 * v * c + v + l * (8 * c * c + 4 * c)
        }
    }

    /// The parameter count, or nil when any product or sum overflows.
    public var checkedParameterCount: Int? {
        let c = width
        switch architecture {
        case .gpt:
            // qkv 3c^2+3c, proj c^2+c, fc 4c^2+4c, fcproj 4c^2+c, two layernorms 4c
            let perLayer = Checked.sum(Checked.product(12, c, c), Checked.product(13, c))
            return Checked.sum(Checked.product(vocabularySize, c), Checked.product(contextLength, c), Checked.product(layers, perLayer),
                               Checked.product(2, c))
        case .lstm:
            // embedding vc, head vc + v, per layer four gates of (2c x c) weights and c biases
            let perLayer = Checked.sum(Checked.product(8, c, c), Checked.product(4, c))
            return Checked.sum(Checked.product(2, vocabularySize, c), vocabularySize, Checked.product(layers, perLayer))
        }
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
