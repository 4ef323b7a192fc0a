import Alignment
import Foundation
import Model
import Tasks

/// Scores one model on the held-out prompts for the pipeline's comparison table: the world's labeler on its
/// greedy replies, the reward model's mean score on the same replies, and, on replies sampled at
/// temperature 1, the KL to the SFT model and the labeler's mean score.
public enum StageEvaluation {
    public static func summarize(name: String, model: GPT, sft: GPT, reward: RewardModel, encoder: ChatEncoder, world: any TaskWorld,
                                 heldOut: [PromptRecord], maxNewTokens: Int, klSamplesPerPrompt: Int, seed: UInt64) throws -> StageSummary {
        let gold = try GoldEvaluation.evaluate(model: model, encoder: encoder, prompts: heldOut, world: world, maxNewTokens: maxNewTokens)
        let exchanges = try gold.samples.map { try encoder.exchange(prompt: ChatPrompt(context: $0.context, text: $0.prompt), response: $0.response) }
        let rewardTotal = try reward.scores(exchanges, pad: Int32(encoder.template.endOfTextID), batchSize: 16).reduce(0, +)
        let sampled = try SampledScores.measure(model: model, reference: sft, encoder: encoder, labeler: world, prompts: heldOut.map(\.chatPrompt),
                                                samplesPerPrompt: klSamplesPerPrompt, maxNewTokens: maxNewTokens, seed: seed)
        return StageSummary(name: name, goldScore: gold.meanScore, sampledGoldScore: sampled.gold,
                            rewardScore: rewardTotal / Double(gold.samples.count), klToSFT: sampled.klToReference,
                            exactMatch: gold.exactMatch, samples: gold.samples)
    }
}
