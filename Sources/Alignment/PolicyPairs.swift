import Foundation
import Generation
import Model
import Tokenizers

/// Preference pairs made the InstructGPT way: the policy (the SFT model) answers training prompts several
/// times at temperature 1, the scripted labeler (the gold judge) scores every answer, and each answer that
/// scores below the best candidate becomes a `rejected` against it. The demonstration's answer is one of the
/// candidates, so a wrong sample is paired with the right answer. These rejected answers are the mistakes
/// this policy actually makes, which is what PPO will explore; synthetic failures alone leave the reward
/// model blind to them.
public enum PolicyPairs {
    public static let failure = "policy sample"

    public static func make(model: GPT, encoder: ChatEncoder, demonstrations: [Demonstration], samplesPerPrompt: Int,
                            maxNewTokens: Int, seed: UInt64) throws -> [PreferencePair] {
        guard samplesPerPrompt >= 1 else { throw AlignmentError.invalidArgument("policy samples per prompt must be at least 1") }
        var bias: [Int: Float] = [:]
        for id in encoder.template.bannedInReply { bias[id] = -.infinity }
        let stop = StopCondition(maxNewTokens: maxNewTokens, endOfTextID: encoder.template.endID)
        var pairs: [PreferencePair] = []
        let generator = BatchGenerator(model: model)
        for start in stride(from: 0, to: demonstrations.count, by: 16) {
            let chunk = Array(demonstrations[start..<min(start + 16, demonstrations.count)])
            var requests: [GenerationRequest] = []
            for (offset, demo) in chunk.enumerated() {
                let prompt = try encoder.prompt(demo.prompt)
                for k in 0..<samplesPerPrompt {
                    let requestSeed = seed &+ UInt64((start + offset) * samplesPerPrompt + k)
                    requests.append(GenerationRequest(prompt: prompt, sampling: SamplingConfig(temperature: 1, logitBias: bias, seed: requestSeed),
                                                      stop: stop))
                }
            }
            let results = try generator.generate(requests, tokenizer: encoder.tokenizer)
            for (offset, demo) in chunk.enumerated() {
                let samples = results[offset * samplesPerPrompt..<(offset + 1) * samplesPerPrompt].map { String(decoding: $0.text, as: UTF8.self) }
                pairs += label(demo: demo, samples: Array(samples))
            }
        }
        return pairs
    }

    /// The best-scoring candidate (demonstration first on ties) against every distinct candidate that scores lower.
    static func label(demo: Demonstration, samples: [String]) -> [PreferencePair] {
        var candidates: [(text: String, score: Double)] = [(demo.response, GoldJudge.score(prompt: demo.prompt, response: demo.response))]
        for sample in samples where !candidates.contains(where: { $0.text == sample }) {
            candidates.append((sample, GoldJudge.score(prompt: demo.prompt, response: sample)))
        }
        let best = candidates.max { $0.score < $1.score }!
        return candidates.filter { $0.score < best.score }.map {
            PreferencePair(family: demo.family, prompt: demo.prompt, chosen: best.text, rejected: $0.text, failure: failure,
                           chosenScore: best.score, rejectedScore: $0.score)
        }
    }
}
