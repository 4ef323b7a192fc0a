import Core
import Foundation
import Tokenizers

/// A model directory: `config.json` (format name, version, ModelConfig with its architecture),
/// `model.safetensors` (weights, one tensor per `ParameterLayout` or `LSTMLayout` entry, stored (out, in)
/// like nn.Linear) and `tokenizer.json`. Each file is written atomically; the loader checks that they agree.
/// A config without an `architecture` field (written before the LSTM existed) is a GPT.
public enum ModelDirectory {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let tokenizerFile = "tokenizer.json"
    public static let configFormat = "minigpt-config"
    public static let weightsFormat = "minigpt-weights"
    public static let formatVersion = 1

    struct ConfigFile: Codable {
        var format: String
        var version: Int
        var architecture: String?
        var vocabSize: Int
        var contextLength: Int
        var layers: Int
        var heads: Int
        var width: Int

        enum CodingKeys: String, CodingKey {
            case format, version, layers, heads, width, architecture
            case vocabSize = "vocab_size"
            case contextLength = "context_length"
        }
    }

    /// `storage` .f16 halves the weights file (values rounded to half precision; loading reads them back as Float).
    public static func save(model: any LanguageModel, tokenizer: any Tokenizer, to directory: String, metadata: [String: String] = [:],
                            storage: TensorStorage = .f32) throws {
        try createDirectory(directory)
        let config = model.config
        let file = ConfigFile(format: configFormat, version: formatVersion, architecture: config.architecture.rawValue,
                              vocabSize: config.vocabularySize,
                              contextLength: config.contextLength, layers: config.layers, heads: config.heads, width: config.width)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(file), to: directory + "/" + configFile)
        try TokenizerFile.save(tokenizer, to: directory + "/" + tokenizerFile)
        try saveWeights(parameters: model.parameters, tensors: model.parameterTensors, to: directory + "/" + weightsFile,
                        metadata: metadata, storage: storage)
    }

    public static func saveWeights(parameters: FloatBuffer, layout: ParameterLayout, to path: String,
                                   metadata: [String: String], storage: TensorStorage = .f32) throws {
        try saveWeights(parameters: parameters, tensors: layout.tensors, to: path, metadata: metadata, storage: storage)
    }

    public static func saveWeights(parameters: FloatBuffer, tensors layoutTensors: [ParameterLayout.Tensor], to path: String,
                                   metadata: [String: String], storage: TensorStorage = .f32) throws {
        let tensors = layoutTensors.map { tensor in
            NamedTensor(name: tensor.name, shape: tensor.shape,
                        values: Array(UnsafeBufferPointer(start: parameters.pointer + tensor.offset, count: tensor.count)))
        }
        var allMetadata = metadata
        allMetadata["format"] = weightsFormat
        allMetadata["version"] = String(formatVersion)
        try Safetensors.write(tensors, metadata: allMetadata, storage: storage, to: path)
    }

    /// `directory` may be a model directory or a run directory (see `Checkpoints`).
    public static func loadConfig(_ directory: String) throws -> ModelConfig {
        let directory = try Checkpoints.resolve(directory)
        let path = directory + "/" + configFile
        let data = try AtomicFile.read(path)
        guard let file = try? JSONDecoder().decode(ConfigFile.self, from: data) else {
            throw ModelError.badModelDirectory(path: directory, reason: "\(configFile) is not a MiniGPT config (missing or mistyped fields)")
        }
        guard file.format == configFormat, file.version == formatVersion else {
            throw ModelError.badModelDirectory(path: directory, reason: "\(configFile) has format \(file.format.debugDescription) version \(file.version), expected \(configFormat) version \(formatVersion)")
        }
        guard let architecture = Architecture(rawValue: file.architecture ?? Architecture.gpt.rawValue) else {
            throw ModelError.badModelDirectory(path: directory, reason: "\(configFile) names architecture \(file.architecture!.debugDescription); this version knows \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let config = ModelConfig(vocabularySize: file.vocabSize, contextLength: file.contextLength, layers: file.layers,
                                 heads: file.heads, width: file.width, architecture: architecture)
        try config.validate()
        return config
    }

    /// Loads weights for `config`, checking names, shapes, and that every value is finite.
    public static func loadWeights(_ path: String, config: ModelConfig) throws -> (parameters: FloatBuffer, metadata: [String: String]) {
        let (tensors, metadata) = try Safetensors.read(path)
        let layoutTensors = config.parameterTensors
        guard metadata["format"] == weightsFormat else {
            throw CoreError.badFormat(path: path, reason: "metadata format is \(metadata["format"] ?? "missing"), expected \(weightsFormat)")
        }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Every stored shape is compared with the config before the parameter buffer is made, so a config
        // that claims a larger model than its weights fails here instead of allocating for the claim.
        for tensor in layoutTensors {
            guard let stored = byName[tensor.name] else {
                throw CoreError.badFormat(path: path, reason: "tensor \(tensor.name) is missing")
            }
            guard stored.shape == tensor.shape else {
                throw CoreError.badFormat(path: path, reason: "tensor \(tensor.name) has shape \(stored.shape), the config needs \(tensor.shape)")
            }
        }
        let parameters = FloatBuffer(count: config.parameterCount)
        for tensor in layoutTensors {
            let stored = byName[tensor.name]!  // present: checked above
            if let bad = stored.values.firstIndex(where: { !$0.isFinite }) {
                throw CoreError.badFormat(path: path, reason: "tensor \(tensor.name) holds a non-finite value at index \(bad)")
            }
            stored.values.withUnsafeBufferPointer { (parameters.pointer + tensor.offset).update(from: $0.baseAddress!, count: tensor.count) }
        }
        if tensors.count != layoutTensors.count {
            let extra = Set(byName.keys).subtracting(layoutTensors.map(\.name)).sorted().prefix(3)
            throw CoreError.badFormat(path: path, reason: "unexpected tensors \(extra.joined(separator: ", "))")
        }
        return (parameters, metadata)
    }

    /// Loads a GPT; a directory holding another architecture is refused with a one-line error (chat,
    /// alignment, export and the KV-cache engine are Transformer-only).
    /// `directory` may be a model directory or a run directory, whose current checkpoint is loaded.
    public static func load(_ directory: String) throws -> (model: GPT, tokenizer: any Tokenizer) {
        let (model, tokenizer) = try loadLanguageModel(directory)
        guard let gpt = model as? GPT else {
            throw ModelError.badModelDirectory(path: directory, reason: ModelError.unsupportedArchitecture(model.config.architecture, needed: .gpt).description)
        }
        return (gpt, tokenizer)
    }

    /// Loads the model of whatever architecture the config names (training, evaluation, generation).
    public static func loadLanguageModel(_ directory: String) throws -> (model: any LanguageModel, tokenizer: any Tokenizer) {
        let directory = try Checkpoints.resolve(directory)
        let config = try loadConfig(directory)
        let tokenizer = try TokenizerFile.load(directory + "/" + tokenizerFile)
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw ModelError.badModelDirectory(path: directory, reason: "tokenizer has \(tokenizer.vocabularySize) tokens but the config says \(config.vocabularySize)")
        }
        let (parameters, _) = try loadWeights(directory + "/" + weightsFile, config: config)
        return (try config.makeModel(parameters: parameters), tokenizer)
    }

    static func requireDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.badModelDirectory(path: directory, reason: "no such directory")
        }
    }

    public static func createDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CoreError.writeFailed(path: directory, reason: "cannot create the directory")
        }
    }
}
