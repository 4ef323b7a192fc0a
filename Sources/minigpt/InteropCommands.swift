import Foundation
import ArgumentParser
import Core
import Interop
import Model

/// `minigpt export hf`: a model or run directory -> a transformers GPT-2 directory.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model in another ecosystem's format.",
        subcommands: [ExportHuggingFaceCommand.self, ExportHalfCommand.self]
    )
}

/// The source directory exists; --out can be created and holds no model or run yet (nothing is overwritten).
func validateModelConversion(from source: String, _ flag: String, to out: String) throws {
    try Preflight.existingDirectory(source, flag)
    try Preflight.outputDirectory(out, "--out")
    let existing = [ModelDirectory.weightsFile, ModelDirectory.configFile, Checkpoints.pointerFile].filter {
        FileManager.default.fileExists(atPath: out + "/" + $0)
    }
    guard existing.isEmpty else { throw ValidationError("--out \(out) already holds a model (\(existing[0])); choose another directory") }
}

/// `minigpt export f16`: a model directory with its weights stored in half precision.
struct ExportHalfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "f16",
        abstract: "Write a copy of a model with its weights stored as F16 (half the file size; every command loads it).",
        discussion: "Weights are rounded to the nearest half-precision value (about 3 significant digits) and read back as Float32."
    )

    @Option(help: "Model or run directory.") var model: String
    @Option(help: "Directory to write (must not hold a model yet).") var out: String

    func validate() throws { try validateModelConversion(from: model, "--model", to: out) }

    func run() throws {
        let (gpt, tokenizer) = try ModelDirectory.load(model)
        try ModelDirectory.save(model: gpt, tokenizer: tokenizer, to: out, metadata: ["converted_from": model], storage: .f16)
        Console.status("wrote \(out): \(formatCount(gpt.parameterCount)) parameters stored as F16")
    }
}

struct ExportHuggingFaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hf",
        abstract: "Write a Hugging Face GPT2LMHeadModel directory (model.safetensors, config.json, tokenizer files).",
        discussion: "The result loads with transformers' GPT2LMHeadModel.from_pretrained(DIR) and AutoTokenizer.from_pretrained(DIR)."
    )

    @Option(help: "Model or run directory to export.") var model: String
    @Option(help: "Directory to write (must not hold a model yet).") var out: String

    func validate() throws { try validateModelConversion(from: model, "--model", to: out) }

    func run() throws {
        let (gpt, tokenizer) = try ModelDirectory.load(model)
        try HuggingFaceGPT2.export(model: gpt, tokenizer: tokenizer, to: out)
        Console.status("wrote \(out): GPT2LMHeadModel with \(formatCount(gpt.parameterCount)) parameters, vocabulary \(tokenizer.vocabularySize)")
    }
}

/// `minigpt import hf`: a transformers GPT-2 directory -> a MiniGPT model directory.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a model from another ecosystem's format.",
        subcommands: [ImportHuggingFaceCommand.self]
    )
}

struct ImportHuggingFaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hf",
        abstract: "Convert a Hugging Face GPT-2 directory (save_pretrained output, F32 model.safetensors) to a MiniGPT model directory.",
        discussion: "The result works with generate and eval like any MiniGPT model directory, and train --init-from fine-tunes it."
    )

    @Option(name: .customLong("from"), help: "transformers model directory.") var source: String
    @Option(help: "MiniGPT model directory to write (must not hold a model yet).") var out: String

    func validate() throws { try validateModelConversion(from: source, "--from", to: out) }

    func run() throws {
        let (gpt, tokenizer) = try HuggingFaceGPT2.importDirectory(from: source, to: out)
        let config = gpt.config
        Console.status("wrote \(out): \(config.layers) layers, \(config.heads) heads, width \(config.width), context \(config.contextLength), "
                       + "vocabulary \(tokenizer.vocabularySize), \(formatCount(gpt.parameterCount)) parameters")
    }
}
