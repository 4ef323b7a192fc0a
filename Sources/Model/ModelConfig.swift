import Core
import Foundation

/// Shape of a GPT-2 style model. `Codable` so it is saved beside the weights.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    /// Longest sequence the model attends over (nanoGPT's block_size).
    public var contextLength: Int
    public var layers: Int
    public var heads: Int
    /// Embedding width (n_embd); the MLP is 4x this wide.
    public var width: Int

    public init(vocabularySize: Int, contextLength: Int, layers: Int, heads: Int, width: Int) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layers = layers
        self.heads = heads
        self.width = width
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
    /// The same formula as `minigpt estimate`.
    public var trainingFLOPsPerToken: Double {
        6 * exactParameterCount + 6 * Double(layers) * Double(contextLength) * Double(width)
    }

    /// Parameters of the model with the LM head tied to the token embedding; `Int.max` when the count
    /// does not fit an Int (a config that `validate()` refuses), so no size a user gives can trap here.
    public var parameterCount: Int { checkedParameterCount ?? Int.max }

    /// The parameter count in Double: exact below 2^53, never overflows (for messages and FLOP estimates).
    public var exactParameterCount: Double {
        let c = Double(width)
        return Double(vocabularySize) * c + Double(contextLength) * c + Double(layers) * (12 * c * c + 13 * c) + 2 * c
    }

    /// The parameter count, or nil when any product or sum overflows.
    public var checkedParameterCount: Int? {
        let c = width
        // qkv 3c^2+3c, proj c^2+c, fc 4c^2+4c, fcproj 4c^2+c, two layernorms 4c
        guard let perLayer = Checked.sum(Checked.product(12, c, c), Checked.product(13, c)) else { return nil }
        return Checked.sum(Checked.product(vocabularySize, c), Checked.product(contextLength, c), Checked.product(layers, perLayer),
                           Checked.product(2, c))
    }
}

public enum ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidConfig(String)
    case badModelDirectory(path: String, reason: String)
    case badInput(String)

    public var description: String {
        switch self {
        case .invalidConfig(let message): return "invalid model configuration: \(message)"
        case .badModelDirectory(let path, let reason): return "\(path) is not a usable model directory: \(reason)"
        case .badInput(let message): return message
        }
    }
}
