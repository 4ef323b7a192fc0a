import ArgumentParser
import Generation

/// The sampler flags shared by `generate` and `chat`; builds a `SamplingConfig`.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Softmax temperature; 0 is greedy (argmax).") var temperature: Float = 0.8
    @Option(help: "Keep only the K most likely tokens (0 = off).") var topK = 200
    @Option(help: "Keep the smallest set of tokens whose probability sums to at least P (1 = off).") var topP: Float = 1
    @Option(help: "Drop tokens less likely than P times the most likely one (0 = off).") var minP: Float = 0
    @Option(help: "Divide positive (multiply negative) logits of recent tokens by this (1 = off).") var repeatPenalty: Float = 1
    @Option(help: "Subtract this times a recent token's count from its logit.") var frequencyPenalty: Float = 0
    @Option(help: "Subtract this from the logit of every recent token.") var presencePenalty: Float = 0
    @Option(help: "How many recent tokens the penalties look at.") var repeatLastN = 64
    @Option(help: "Seed of the sampler's random draws.") var seed: UInt64 = 1337

    var samplingConfig: SamplingConfig {
        SamplingConfig(temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
                       frequencyPenalty: frequencyPenalty, presencePenalty: presencePenalty, penaltyLastN: repeatLastN, seed: seed)
    }

    func validate() throws {
        do { try samplingConfig.validate() } catch { throw ValidationError("\(error)") }
    }
}
