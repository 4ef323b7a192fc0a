import ArgumentParser
import Core
import Foundation
import Model
import Tokenizers
import Training

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean cross-entropy (nats/token) and bits per byte of a model on a text or token file.",
        discussion: """
        The whole file is scored in non-overlapping windows of the context length; every token but the first is predicted once. \
        A token file (from `minigpt tokenizer prepare`) is read memory-mapped, as training reads it; text is first prepared \
        into a temporary token file.
        """
    )

    @Option(help: "Model directory.") var model: String
    @Option(help: "Text file, or a token file made with the model's tokenizer, to score.") var data: String
    @Option(help: "Windows per forward pass.") var batch = 8
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard batch >= 1, batch <= TrainConfig.maxCount else {
            throw ValidationError("--batch must be in 1...\(TrainConfig.maxCount), got \(batch)")
        }
        try Preflight.existingDirectory(model, "--model")
        try Preflight.readableFile(data, "--data")
    }

    func run() throws {
        try threadOptions.apply()
        let (languageModel, tokenizer) = try ModelDirectory.loadLanguageModel(model)
        var path = data
        var temporary: String?
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        if !TokenFile.looksLikeTokenFile(data) {
            temporary = FileManager.default.temporaryDirectory.appendingPathComponent("minigpt-eval-\(UUID().uuidString).bin").path
            path = temporary!
            try prepareTokenFile(files: [data], tokenizer: tokenizer, out: path, threads: ComputeThreads.count)
        }
        let file = try MappedTokenFile(path: path)
        guard file.vocabularySize == tokenizer.vocabularySize else {
            throw ValidationError("\(data) was made with a vocabulary of \(file.vocabularySize) tokens, but the model's tokenizer has \(tokenizer.vocabularySize)")
        }
        guard file.count >= 2 else { throw ValidationError("\(data) has fewer than 2 tokens: nothing to predict") }
        let result = try Evaluation.crossEntropy(model: languageModel, tokens: TokenSpan(file: file), batchSize: batch) { done, total in
            if Console.isTerminal { Console.overwrite("scoring: \(done) of \(total) windows") }
        }
        if Console.isTerminal { Console.status("") }
        let predictedBytes = try byteCount(of: file, from: 1, tokenizer: tokenizer)
        let bitsPerByte = result.totalNats / log(2) / Double(predictedBytes)
        Console.out(String(format: "loss %.4f nats/token, %.4f bits/byte (%d tokens, %d bytes scored)\n",
                           result.meanLoss, bitsPerByte, result.predictedTokens, predictedBytes))
    }

    /// How many bytes the ids from `start` on stand for, decoded a block at a time.
    private func byteCount(of file: MappedTokenFile, from start: Int, tokenizer: any Tokenizer) throws -> Int {
        var total = 0
        for blockStart in stride(from: start, to: file.count, by: 1 << 16) {
            let ids = try file.ids(blockStart..<min(blockStart + (1 << 16), file.count))
            total += try tokenizer.decodeBytes(ids.map(Int.init)).count
        }
        return total
    }
}
