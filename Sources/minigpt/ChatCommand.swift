import ArgumentParser
import Foundation
import Generation
import Model
import Tokenizers

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model trained on the chat template: one user message per line on stdin, replies on stdout.",
        discussion: """
        Type a message and press return; the reply streams to stdout. /reset forgets the conversation (the \
        system prompt stays), /quit or end of input ends the chat. Works from a pipe, one message per line. \
        When the history no longer fits the context, the oldest exchanges are dropped (the system prompt is \
        kept). A message that cannot fit is reported as an error and skipped; the exit status is then non-zero. \
        The model's tokenizer must have the template's special tokens \
        (<|system|> <|user|> <|assistant|> <|end|> <|endoftext|>); see docs/inference.md.
        """
    )

    @Option(help: "Model directory (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "System prompt, kept at the start of the conversation.") var system: String?
    @Option(help: "Most tokens per reply.") var maxNewTokens = 256
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var decode: DecodeOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        try validateMaxNewTokens(maxNewTokens)
        try Preflight.existingDirectory(model, "--model")
        if let system, system.isEmpty { throw ValidationError("--system must not be empty") }
    }

    func run() throws {
        try StandardStreams.checkInput()
        try threadOptions.apply()
        let (gpt, tokenizer) = try ModelDirectory.load(model)
        let config = try sampling.samplingConfig(vocabularySize: tokenizer.vocabularySize)
        let chat = try ChatSession(model: gpt, tokenizer: tokenizer, system: system, sampling: config, maxNewTokens: maxNewTokens,
                                   engine: try decode.engine(for: gpt))
        let interactive = isatty(fileno(stdin)) != 0
        if interactive { Console.status("chatting with \(model) (/reset forgets the conversation, /quit ends)") }
        var failed = false
        while true {
            if interactive { Console.prompt("> ") }
            guard let line = readLine(strippingNewline: true) else { break }
            let message = line.trimmingCharacters(in: .whitespaces)
            if message.isEmpty { continue }
            if message == "/quit" { break }
            if message == "/reset" {
                chat.reset()
                if interactive { Console.status("(conversation cleared)") }
                continue
            }
            do {
                let reply = try chat.respond(to: line) { Console.out($0) }
                Console.out("\n")
                if reply.droppedTurns > 0 {
                    Console.status("(dropped the \(reply.droppedTurns) oldest message\(reply.droppedTurns == 1 ? "" : "s") to fit the context)")
                }
            } catch let error as GenerationError {
                Console.status("Error: \(error)")
                failed = true
            }
        }
        // Each failed turn already printed its one "Error:" line; only the status is left to report.
        if failed { Foundation.exit(ExitCode.failure.rawValue) }
    }
}
