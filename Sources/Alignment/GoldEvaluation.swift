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
        var sampling = SamplingConfig.greedy
        for id in encoder.template.bannedInReply { sampling.logitBias[id] = -.infinity }
        let stop = StopCondition(maxNewTokens: maxNewTokens, endOfTextID: encoder.template.endID)
        let requests = try prompts.map { GenerationRequest(prompt: try encoder.prompt($0), sampling: sampling, stop: stop) }
        let results = try BatchGenerator(model: model).generate(requests, tokenizer: encoder.tokenizer)
        return results.map { String(decoding: $0.text, as: UTF8.self) }
    }
}
