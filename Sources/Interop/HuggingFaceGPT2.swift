import Core
import Foundation
import Generation
import Model
import Tokenizers

/// A transformers GPT-2 model directory (`save_pretrained` layout): `config.json`, `generation_config.json`,
/// `model.safetensors` (F32, names and layouts in `GPT2TensorNames`) and tokenizer files.
public enum HuggingFaceGPT2 {
    public static let weightsFile = "model.safetensors"
    public static let configFile = "config.json"
    public static let generationConfigFile = "generation_config.json"

    /// Writes a directory that `GPT2LMHeadModel.from_pretrained` and `AutoTokenizer.from_pretrained` load.
    /// Refuses a directory that already holds a model.
    public static func export(model: GPT, tokenizer: any Tokenizer, to directory: String) throws {
        let tokenizerFiles = try HuggingFaceTokenizer.files(for: tokenizer, contextLength: model.config.contextLength)
        try refuseExisting(directory)
        try ModelDirectory.createDirectory(directory)
        try Safetensors.write(GPT2TensorNames.huggingFaceTensors(of: model), metadata: ["format": "pt"],
                              to: directory + "/" + weightsFile)
        try AtomicFile.write(try HuggingFaceConfig.json(for: model.config, endOfTextID: tokenizer.endOfTextID),
                             to: directory + "/" + configFile)
        try AtomicFile.write(try HuggingFaceConfig.generationJSON(endOfTextID: tokenizer.endOfTextID, chat: try? ChatTemplate(tokenizer: tokenizer)),
                             to: directory + "/" + generationConfigFile)
        for (name, data) in tokenizerFiles.sorted(by: { $0.key < $1.key }) {
            try AtomicFile.write(data, to: directory + "/" + name)
        }
    }

    /// The model of a transformers GPT-2 directory, without its tokenizer.
    public static func loadModel(directory: String) throws -> (model: GPT, endOfTextID: Int?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InteropError.badFile(path: directory, reason: "no such directory")
        }
        let configPath = directory + "/" + configFile
        let parsed = try HuggingFaceConfig.parse(try AtomicFile.read(configPath), path: configPath)
        let weightsPath = directory + "/" + weightsFile
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            for (name, hint) in [("model.safetensors.index.json", "sharded checkpoints are not supported"),
                                 ("pytorch_model.bin", "only safetensors is read; re-save with save_pretrained(dir, safe_serialization=True)")]
            where FileManager.default.fileExists(atPath: directory + "/" + name) {
                throw InteropError.unsupported(path: directory + "/" + name, reason: hint)
            }
            throw CoreError.fileNotFound(path: weightsPath)
        }
        let tensors: [NamedTensor]
        do {
            tensors = try Safetensors.read(weightsPath).tensors
        } catch CoreError.badFormat(_, let reason) where reason.contains("has dtype") {
            throw InteropError.unsupported(path: weightsPath, reason: reason + "; save an F32 copy with model.float().save_pretrained(dir)")
        }
        let parameters = try GPT2TensorNames.parameters(from: tensors, config: parsed.model, path: weightsPath)
        return (try GPT(config: parsed.model, parameters: parameters), parsed.endOfTextID)
    }

    /// Model and tokenizer of a transformers GPT-2 directory.
    public static func load(directory: String) throws -> (model: GPT, tokenizer: any Tokenizer) {
        let (model, _) = try loadModel(directory: directory)
        let tokenizer = try HuggingFaceTokenizer.load(directory: directory)
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw InteropError.unsupported(path: directory, reason: "the tokenizer has \(tokenizer.vocabularySize) tokens but vocab_size is \(model.config.vocabularySize) (padded vocabularies are not supported)")
        }
        return (model, tokenizer)
    }

    /// Converts a transformers directory into a MiniGPT model directory.
    public static func importDirectory(from source: String, to destination: String) throws -> (model: GPT, tokenizer: any Tokenizer) {
        let (model, tokenizer) = try load(directory: source)
        try refuseExisting(destination)
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: destination, metadata: ["source": "huggingface-gpt2"])
        return (model, tokenizer)
    }

    static func refuseExisting(_ directory: String) throws {
        for name in [weightsFile, configFile] where FileManager.default.fileExists(atPath: directory + "/" + name) {
            throw InteropError.invalidArgument("\(directory) already holds a model (\(name)); choose another output directory")
        }
    }
}
