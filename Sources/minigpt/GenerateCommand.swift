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
        The prompt is echoed, then new text is printed as it is produced. A prompt longer than the model's \
        context is an error; once prompt plus output fill the context, the window slides (the oldest tokens drop out).
        """
    )

    @Option(help: "Model directory (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "Text to continue.") var prompt = "\n"
    @Option(help: "Most tokens to generate.") var maxNewTokens = 500
    @Option(help: "Stop when this text appears (not printed); repeatable.") var stop: [String] = []
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1, got \(maxNewTokens)") }
        guard !stop.contains("") else { throw ValidationError("--stop must not be empty") }
    }

    func run() throws {
        try threadOptions.apply()
        let (gpt, tokenizer) = try ModelDirectory.load(model)
        let config = sampling.samplingConfig
        try config.validate(vocabularySize: tokenizer.vocabularySize)
        var sampler = try Sampler(config: config)
        var stopper = try StopChecker(StopCondition(maxNewTokens: maxNewTokens, stopStrings: stop, endOfTextID: tokenizer.endOfTextID))
        let promptIDs = try tokenizer.encode(prompt)
        Console.out(prompt)
        let window = config.penaltyLastN
        try TextGenerator(model: gpt).generate(
            prompt: promptIDs, maxNewTokens: maxNewTokens,
            pick: { logits, history in sampler.sample(logits: logits, recentTokens: history.suffix(window)) },
            emit: { id in
                let step = stopper.next(token: id, bytes: try tokenizer.decodeBytes([id]))
                FileHandle.standardOutput.write(Data(step.emit))
                return step.stop == nil
            })
        FileHandle.standardOutput.write(Data(stopper.flush() + [0x0A]))
    }
}
