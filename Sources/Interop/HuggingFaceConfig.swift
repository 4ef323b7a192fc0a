import Core
import Foundation
import Generation
import Model

/// transformers' `config.json` for `GPT2LMHeadModel`, and the subset of it MiniGPT can represent:
/// tanh-approximated GELU (`gelu_new`), LayerNorm epsilon 1e-5, MLP width 4C, scaled dot-product
/// attention and an LM head tied to the token embedding.
public enum HuggingFaceConfig {
    /// Larger config files are refused before parsing (real ones are about 1 KB).
    public static let maxBytes = 1 << 20

    public struct Parsed: Equatable, Sendable {
        public var model: ModelConfig
        public var endOfTextID: Int?
    }

    /// The `config.json` transformers needs to build the model.
    public static func json(for config: ModelConfig, endOfTextID: Int?) throws -> Data {
        var object: [String: Any] = [
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": config.vocabularySize,
            "n_positions": config.contextLength,
            "n_ctx": config.contextLength,
            "n_embd": config.width,
            "n_layer": config.layers,
            "n_head": config.heads,
            "n_inner": NSNull(),
            "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "initializer_range": 0.02,
            "scale_attn_weights": true,
            "scale_attn_by_inverse_layer_idx": false,
            "reorder_and_upcast_attn": false,
            "tie_word_embeddings": true,
            "use_cache": true,
            "torch_dtype": "float32",
        ]
        object["bos_token_id"] = endOfTextID ?? NSNull()
        object["eos_token_id"] = endOfTextID ?? NSNull()
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// With `chat`, generation ends at `<|end|>` and the other markers are suppressed, as `minigpt chat` bans
    /// them: transformers' greedy `generate` then writes the replies MiniGPT writes.
    public static func generationJSON(endOfTextID: Int?, chat: ChatTemplate? = nil) throws -> Data {
        var object: [String: Any] = ["_from_model_config": true]
        if let endOfTextID {
            object["bos_token_id"] = endOfTextID
            object["eos_token_id"] = endOfTextID
        }
        if let chat {
            object["eos_token_id"] = chat.endID
            object["suppress_tokens"] = chat.bannedInReply
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Reads a transformers GPT-2 `config.json`, refusing variants MiniGPT's forward pass does not compute.
    public static func parse(_ data: Data, path: String) throws -> Parsed {
        func bad(_ reason: String) -> InteropError { .badFile(path: path, reason: reason) }
        func unsupported(_ reason: String) -> InteropError { .unsupported(path: path, reason: reason) }
        guard data.count <= maxBytes else { throw bad("\(data.count) bytes is too large for a model config") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        if let type = object["model_type"] as? String, type != "gpt2" {
            throw unsupported("model_type is \(type.debugDescription); only gpt2 is supported")
        }
        func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let value = object[key] else {
                if let fallback { return fallback }
                throw bad("\(key) is missing")
            }
            guard let number = value as? NSNumber, let exact = Int(exactly: number.doubleValue),
                  exact > 0, exact <= 1 << 30 else {
                throw bad("\(key) is \(value), expected a positive integer")
            }
            return exact
        }
        let width = try integer("n_embd")
        let config = ModelConfig(vocabularySize: try integer("vocab_size"), contextLength: try integer("n_positions"),
                                 layers: try integer("n_layer"), heads: try integer("n_head"), width: width)
        do { try config.validate() } catch { throw bad("\(error)") }

        let activation = object["activation_function"] as? String ?? "gelu_new"
        guard ["gelu_new", "gelu_pytorch_tanh"].contains(activation) else {
            throw unsupported("activation_function \(activation.debugDescription); MiniGPT computes the tanh GELU (gelu_new)")
        }
        if let inner = object["n_inner"], !(inner is NSNull) {
            guard (inner as? NSNumber)?.intValue == 4 * width else { throw unsupported("n_inner \(inner); MiniGPT's MLP is 4 * n_embd wide") }
        }
        if let epsilon = object["layer_norm_epsilon"] {
            guard let value = (epsilon as? NSNumber)?.doubleValue, abs(value - 1e-5) <= 1e-12 else {
                throw unsupported("layer_norm_epsilon \(epsilon); MiniGPT uses 1e-5")
            }
        }
        let flags: [(String, Bool)] = [("scale_attn_weights", true), ("scale_attn_by_inverse_layer_idx", false),
                                       ("tie_word_embeddings", true), ("add_cross_attention", false)]
        for (key, required) in flags {
            if let value = object[key] as? Bool, value != required { throw unsupported("\(key) is \(value); MiniGPT needs \(required)") }
        }
        var endOfText: Int?
        if let eos = object["eos_token_id"] as? NSNumber, let id = Int(exactly: eos.doubleValue),
           id >= 0, id < config.vocabularySize {
            endOfText = id
        }
        return Parsed(model: config, endOfTextID: endOfText)
    }
}
