import Foundation
import ArgumentParser
import Generation

/// The sampler flags shared by `generate` and `chat`; builds a `SamplingConfig`.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Softmax temperature; 0 is greedy (argmax).") var temperature: Float = 0.8
    @Option(help: "Keep only the K most likely tokens (0 = off).") var topK = SamplingConfig().topK
    @Option(help: "Keep the smallest set of tokens whose probability sums to at least P (1 = off).") var topP: Float = 1
    @Option(help: "Drop tokens less likely than P times the most likely one (0 = off).") var minP: Float = 0
    @Option(help: "Divide positive (multiply negative) logits of recent tokens by this (1 = off).") var repeatPenalty: Float = 1
    @Option(help: "Subtract this times a recent token's count from its logit.") var frequencyPenalty: Float = 0
    @Option(help: "Subtract this from the logit of every recent token.") var presencePenalty: Float = 0
    @Option(help: "How many recent tokens the penalties look at.") var repeatLastN = 64
    @Option(help: ArgumentHelp("Add VALUE to token ID's logit (-inf bans it); repeatable.", valueName: "ID=VALUE"))
    var logitBias: [String] = []
    @Option(help: "Seed of the sampler's random draws.") var seed: UInt64 = 1337

    /// The config for a model with `vocabularySize` tokens (checks that biased ids exist) or without the check.
    func samplingConfig(vocabularySize: Int? = nil) throws -> SamplingConfig {
        var bias: [Int: Float] = [:]
        for entry in logitBias {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let id = Int(parts[0]), let value = Float(parts[1]) else {
                throw ValidationError("--logit-bias takes ID=VALUE (e.g. 13=-2.5 or 0=-inf), got \(entry)")
            }
            bias[id, default: 0] += value
        }
        let config = SamplingConfig(temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
                                    frequencyPenalty: frequencyPenalty, presencePenalty: presencePenalty,
                                    penaltyLastN: repeatLastN, logitBias: bias, seed: seed)
        // Flag checks are usage errors; the vocabulary check runs after loading the model, a runtime error.
        if let vocabularySize {
            try config.validate(vocabularySize: vocabularySize)
        } else {
            do { try config.validate() } catch { throw ValidationError("\(error)") }
        }
        return config
    }

    func validate() throws { _ = try samplingConfig() }
}
