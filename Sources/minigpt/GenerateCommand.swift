import ArgumentParser
import Foundation
import Generation
import Model
import Tokenizers

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a model directory, streaming it to stdout.",
        discussion: """
        The prompt is echoed, then new text is printed as it is produced (whole characters only). The prompt \
        is processed in one pass and each new token reuses the cached keys and values. A prompt longer than \
        the model's context is an error. When prompt plus output fill the context, the last half of the \
        context is kept and re-processed, and generation continues (see docs/inference.md). An LSTM model \
        carries a fixed-size state instead of the cache, so its prompt and output are not bounded by the context.
        """
    )

    @Option(help: "Model directory (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "Text to continue.") var prompt = "\n"
    @Option(help: "Most tokens to generate.") var maxNewTokens = 500
    @Option(help: "Stop when this text appears (not printed); repeatable.") var stop: [String] = []
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var decode: DecodeOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        try validateMaxNewTokens(maxNewTokens)
        guard !stop.contains("") else { throw ValidationError("--stop must not be empty") }
        try Preflight.existingDirectory(model, "--model")
    }

    func run() throws {
        try threadOptions.apply()
        let (languageModel, tokenizer) = try ModelDirectory.loadLanguageModel(model)
        if let lstm = languageModel as? LSTM { return try generate(lstm, tokenizer: tokenizer) }
        guard let gpt = languageModel as? GPT else { throw ModelError.unsupportedArchitecture(languageModel.config.architecture, needed: .gpt) }
        let engine = try decode.engine(for: gpt)
        let config = try sampling.samplingConfig(vocabularySize: tokenizer.vocabularySize)
        let condition = StopCondition(maxNewTokens: maxNewTokens, stopStrings: stop, endOfTextID: tokenizer.endOfTextID)
        let promptIDs = try tokenizer.encode(prompt)
        guard !promptIDs.isEmpty else { throw GenerationError.invalidRequest("--prompt is empty") }
        guard promptIDs.count <= gpt.config.contextLength else {
            throw GenerationError.invalidRequest("the prompt is \(promptIDs.count) tokens, longer than the model's context of \(gpt.config.contextLength)")
        }
        Console.out(prompt)
        try TextGenerator(engine: engine).generate(prompt: promptIDs, sampling: config, stop: condition, tokenizer: tokenizer) {
            Console.out($0)
        }
        Console.out("\n")
    }

    /// An LSTM carries a fixed-size state instead of a KV cache: no context bound, no int8 decode weights.
    private func generate(_ lstm: LSTM, tokenizer: any Tokenizer) throws {
        guard decode.weights == .float32 else { throw ValidationError("--weights int8 is for GPT models; this is an LSTM") }
        let config = try sampling.samplingConfig(vocabularySize: tokenizer.vocabularySize)
        let condition = StopCondition(maxNewTokens: maxNewTokens, stopStrings: stop, endOfTextID: tokenizer.endOfTextID)
        let promptIDs = try tokenizer.encode(prompt)
        guard !promptIDs.isEmpty else { throw GenerationError.invalidRequest("--prompt is empty") }
        Console.out(prompt)
        try RecurrentGenerator(model: lstm).generate(prompt: promptIDs, sampling: config, stop: condition, tokenizer: tokenizer) {
            Console.out($0)
        }
        Console.out("\n")
    }
}
