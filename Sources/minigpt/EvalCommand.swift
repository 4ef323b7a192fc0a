import ArgumentParser
import Core
import Foundation
import Model
import Tokenizers
import Training

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean cross-entropy (nats/token) and bits per byte of a model on a text file.",
        discussion: "The whole file is scored in non-overlapping windows of the context length; every token but the first is predicted once."
    )

    @Option(help: "Model directory.") var model: String
    @Option(help: "UTF-8 text file to score.") var data: String
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
        let (gpt, tokenizer) = try ModelDirectory.load(model)
        let text = try TextFile.read(data)
        let ids = try tokenizer.encode(text)
        guard ids.count >= 2 else { throw ValidationError("\(data) has fewer than 2 tokens: nothing to predict") }
        let result = try Evaluation.crossEntropy(model: gpt, tokens: ids.map(Int32.init), batchSize: batch)
        let predictedBytes = try tokenizer.decodeBytes(Array(ids.dropFirst())).count
        let bitsPerByte = result.totalNats / log(2) / Double(predictedBytes)
        Console.out(String(format: "loss %.4f nats/token, %.4f bits/byte (%d tokens, %d bytes scored)\n",
                           result.meanLoss, bitsPerByte, result.predictedTokens, predictedBytes))
    }
}
