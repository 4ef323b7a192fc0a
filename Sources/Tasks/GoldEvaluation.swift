import Alignment
import Foundation
import Model

/// One model's greedy answers to held-out prompts, scored by a world's labeler.
public struct GoldReport: Codable, Sendable {
    public struct Sample: Codable, Sendable {
        public var family: String
        /// Earlier turns of a multi-turn prompt (empty for single-turn ones).
        public var context: [ChatTurn]
        public var prompt: String
        public var response: String
        public var score: Double

        public init(family: String, context: [ChatTurn] = [], prompt: String, response: String, score: Double) {
            self.family = family
            self.context = context
            self.prompt = prompt
            self.response = response
            self.score = score
        }

        enum CodingKeys: String, CodingKey { case family, context, prompt, response, score }

        /// Reports written before multi-turn prompts have no `context`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            family = try container.decode(String.self, forKey: .family)
            context = try container.decodeIfPresent([ChatTurn].self, forKey: .context) ?? []
            prompt = try container.decode(String.self, forKey: .prompt)
            response = try container.decode(String.self, forKey: .response)
            score = try container.decode(Double.self, forKey: .score)
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
    /// Generates a greedy reply to every prompt (`Replies.greedy`) and judges it with `world`.
    public static func evaluate(model: GPT, encoder: ChatEncoder, prompts: [PromptRecord], world: any TaskWorld = ToyWorld(),
                                maxNewTokens: Int = 24) throws -> GoldReport {
        guard !prompts.isEmpty else { throw AlignmentError.emptyDataset("the held-out prompt set") }
        let responses = try Replies.greedy(model: model, encoder: encoder, prompts: prompts.map(\.chatPrompt), maxNewTokens: maxNewTokens)
        var samples: [GoldReport.Sample] = []
        var exact: [String: (hits: Int, total: Int)] = [:]
        for (record, response) in zip(prompts, responses) {
            samples.append(GoldReport.Sample(family: record.family, context: record.context, prompt: record.prompt, response: response,
                                             score: world.score(prompt: record.chatPrompt, response: response)))
            exact[record.family, default: (0, 0)].hits += world.isExact(prompt: record.chatPrompt, response: response) ? 1 : 0
            exact[record.family, default: (0, 0)].total += 1
        }
        return GoldReport(meanScore: samples.map(\.score).reduce(0, +) / Double(samples.count),
                          exactMatch: exact.mapValues { Double($0.hits) / Double($0.total) }, samples: samples)
    }
}
