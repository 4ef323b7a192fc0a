import Foundation
import Tasks

/// What one stage of the pipeline (base, SFT, reward-model-guided PPO, DPO, ...) scores on the held-out prompts.
public struct StageSummary: Codable, Sendable {
    /// "base", "SFT", "PPO", "DPO", ...
    public var name: String
    /// Mean gold score in [0, 1] of the greedy replies to the held-out prompts.
    public var goldScore: Double
    /// Mean gold score of replies sampled at temperature 1 (the expected gold of the model's own samples,
    /// what PPO optimises); nil when not measured (printed "-").
    public var sampledGoldScore: Double?
    /// Mean reward-model score of the same replies; nil when not measured (printed "-").
    public var rewardScore: Double?
    /// Mean per-sequence KL to the SFT model; nil prints "-" (pass 0 for the SFT stage itself to print 0.000).
    public var klToSFT: Double?
    /// Fraction of exactly right answers, keyed by `TaskFamily.rawValue`.
    public var exactMatch: [String: Double]
    public var samples: [GoldReport.Sample]

    public init(name: String, goldScore: Double, sampledGoldScore: Double? = nil, rewardScore: Double? = nil, klToSFT: Double? = nil,
                exactMatch: [String: Double], samples: [GoldReport.Sample]) {
        self.name = name
        self.goldScore = goldScore
        self.sampledGoldScore = sampledGoldScore
        self.rewardScore = rewardScore
        self.klToSFT = klToSFT
        self.exactMatch = exactMatch
        self.samples = samples
    }

    /// A stage as `GoldEvaluation.evaluate` measured it.
    public init(name: String, gold: GoldReport, rewardScore: Double? = nil, klToSFT: Double? = nil) {
        self.init(name: name, goldScore: gold.meanScore, rewardScore: rewardScore, klToSFT: klToSFT,
                  exactMatch: gold.exactMatch, samples: gold.samples)
    }

    enum CodingKeys: String, CodingKey {
        case name
        case goldScore = "gold_score"
        case sampledGoldScore = "sampled_gold_score"
        case rewardScore = "reward_score"
        case klToSFT = "kl_to_sft"
        case exactMatch = "exact_match"
        case samples
    }
}

/// GitHub-flavoured markdown tables comparing the stages. Every cell goes through `cell(_:)`, so no reply,
/// prompt or stage name can break a row.
public enum AlignmentReport {
    /// The families any stage was scored on, in `ChatFamily` order (whose first six are the toy world's, so a
    /// toy-world report keeps its columns).
    public static func families(_ stages: [StageSummary]) -> [String] {
        let present = Set(stages.flatMap(\.exactMatch.keys))
        return ChatFamily.allCases.map(\.rawValue).filter(present.contains)
    }

    /// One row per stage: | stage | gold x100 | gold sampled x100 (1 decimal each) | RM score | KL to SFT (3
    /// decimals each) | then the exact-match fraction of each family (`families`, 2 decimals). Missing
    /// values print "-".
    public static func comparisonTable(_ stages: [StageSummary]) -> String {
        let families = families(stages)
        var lines = [row(["stage", "gold x100", "gold sampled x100", "RM score", "KL to SFT"] + families.map { "exact \($0)" }),
                     row(["---"] + Array(repeating: "---:", count: 4 + families.count))]
        for stage in stages {
            var cells = [cell(stage.name), number(stage.goldScore * 100, 1), number(stage.sampledGoldScore.map { $0 * 100 }, 1),
                         number(stage.rewardScore, 3), number(stage.klToSFT, 3)]
            cells += families.map { number(stage.exactMatch[$0], 2) }
            lines.append(row(cells))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The first `count` held-out prompts of the first stage, each followed by every stage's reply and its gold
    /// score (2 decimals): | # | family | prompt | base reply | base gold | SFT reply | SFT gold | ...
    /// Other stages' replies are matched by prompt text, so their sample order does not matter; a stage that
    /// did not answer a prompt shows "-". An empty reply shows "(empty)".
    public static func sampleTable(_ stages: [StageSummary], count: Int) -> String {
        var header = ["#", "family", "prompt"]
        for stage in stages { header += [cell(stage.name) + " reply", cell(stage.name) + " gold"] }
        var lines = [row(header), row(["---:", "---", "---"] + Array(repeating: ["---", "---:"], count: stages.count).flatMap { $0 })]
        let lookups = stages.map { stage in
            Dictionary(stage.samples.map { ($0.prompt, $0) }, uniquingKeysWith: { first, _ in first })
        }
        for (index, sample) in (stages.first?.samples ?? []).prefix(max(0, count)).enumerated() {
            var cells = ["\(index + 1)", sample.family, cell(sample.prompt)]
            for lookup in lookups {
                if let answer = lookup[sample.prompt] {
                    cells += [answer.response.isEmpty ? "(empty)" : cell(answer.response), number(answer.score, 2)]
                } else {
                    cells += ["-", "-"]
                }
            }
            lines.append(row(cells))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text safe inside one table cell: backslash, `` ` ``, `|` and `<` are backslash-escaped (CommonMark
    /// escapes, so they render as themselves: no code spans, no HTML, no column breaks) and each line break
    /// (\n, \r\n, \r) becomes " ⏎ ".
    public static func cell(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\", "`", "|", "<": out += "\\\(character)"
            case "\n", "\r\n", "\r": out += " ⏎ "
            default: out.append(character)
            }
        }
        return out
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

    static func number(_ value: Double?, _ decimals: Int) -> String {
        guard let value else { return "-" }
        return value.isFinite ? String(format: "%.\(decimals)f", value) : "\(value)"
    }
}
