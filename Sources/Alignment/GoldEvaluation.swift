import Foundation
import Generation
import Model
import Tokenizers

/// One model's greedy answers to the held-out prompts, scored by the gold judge.
public struct GoldReport: Codable, Sendable {
    public struct Sample: Codable, Sendable {
        public var family: TaskFamily
        public var prompt: String
        public var response: String
        public var score: Double

        public init(family: TaskFamily, prompt: String, response: String, score: Double) {
            self.family = family
            self.prompt = prompt
            self.response = response
            self.score = score
        }
    }

    /// Mean gold score in [0, 1].
    public var meanScore: Double
    /// Fraction of exactly right answers per family.
    public var exactMatch: [String: Double]
    public var samples: [Sample]

    enum CodingKeys: String, CodingKey {
        case meanScore = "mean_score"
        case exactMatch = "exact_match"
        case samples
    }
}

public enum GoldEvaluation {
    /// Generates a greedy reply (temperature 0, at most `maxNewTokens`, ending at `<|end|>`, other chat
    /// markers banned as in `minigpt chat`) to every prompt in one batch on the KV cache, and judges it.
    public static func evaluate(model: GPT, encoder: ChatEncoder, prompts: [PromptRecord], maxNewTokens: Int = 24) throws -> GoldReport {
        guard !prompts.isEmpty else { throw AlignmentError.emptyDataset("the held-out prompt set") }
        let responses = try generate(model: model, encoder: encoder, prompts: prompts.map(\.prompt), maxNewTokens: maxNewTokens)
        var samples: [GoldReport.Sample] = []
        var exact: [TaskFamily: (hits: Int, total: Int)] = [:]
        for (record, response) in zip(prompts, responses) {
            let score = GoldJudge.score(prompt: record.prompt, response: response)
            samples.append(GoldReport.Sample(family: record.family, prompt: record.prompt, response: response, score: score))
            let hit = InstructWorld.parse(prompt: record.prompt).map { GoldJudge.isExact(task: $0, response: response) } ?? false
            exact[record.family, default: (0, 0)].hits += hit ? 1 : 0
            exact[record.family, default: (0, 0)].total += 1
        }
        let mean = samples.map(\.score).reduce(0, +) / Double(samples.count)
        return GoldReport(meanScore: mean,
                          exactMatch: Dictionary(uniqueKeysWithValues: exact.map { ($0.key.rawValue, Double($0.value.hits) / Double($0.value.total)) }),
                          samples: samples)
    }

    /// Greedy replies as text.
    public static func generate(model: GPT, encoder: ChatEncoder, prompts: [String], maxNewTokens: Int) throws -> [String] {
        let sampling = encoder.template.replySampling(.greedy)
        let stop = encoder.template.replyStop(maxNewTokens: maxNewTokens)
        let requests = try prompts.map { GenerationRequest(prompt: try encoder.prompt($0), sampling: sampling, stop: stop) }
        let results = try BatchGenerator(model: model).generate(requests, tokenizer: encoder.tokenizer)
        return results.map { String(decoding: $0.text, as: UTF8.self) }
    }

    /// `n` replies per prompt sampled at temperature 1 with the chat markers banned, as text; reply k of
    /// prompt i is seeded with `seed + i * n + k`, so the result does not depend on how the work is batched.
    public static func sample(model: GPT, encoder: ChatEncoder, prompts: [String], n: Int, maxNewTokens: Int, seed: UInt64) throws -> [[String]] {
        let generator = BatchGenerator(model: model)
        let stop = encoder.template.replyStop(maxNewTokens: maxNewTokens)
        var replies: [[String]] = []
        for start in stride(from: 0, to: prompts.count, by: 16) {
            var requests: [GenerationRequest] = []
            for index in start..<min(start + 16, prompts.count) {
                let prompt = try encoder.prompt(prompts[index])
                for k in 0..<n {
                    let sampling = encoder.template.replySampling(SamplingConfig(temperature: 1, seed: seed &+ UInt64(index * n + k)))
                    requests.append(GenerationRequest(prompt: prompt, sampling: sampling, stop: stop))
                }
            }
            let texts = try generator.generate(requests, tokenizer: encoder.tokenizer).map { String(decoding: $0.text, as: UTF8.self) }
            for offset in stride(from: 0, to: texts.count, by: n) { replies.append(Array(texts[offset..<offset + n])) }
        }
        return replies
    }
}
