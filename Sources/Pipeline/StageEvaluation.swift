import Alignment
import Foundation
import Generation
import Model
import Tasks

/// Scores one model on the held-out prompts for the pipeline's comparison table: the world's labeler on its
/// greedy replies, the reward model's mean score on the same replies, and, on replies sampled at
/// temperature 1, the KL to the SFT model and the labeler's mean score.
public enum StageEvaluation {
    /// What replies sampled from a model as PPO samples its rollouts score, per reply.
    public struct SampledScores: Sendable {
        /// Mean of sum_t log p_model(a_t) - log p_reference(a_t).
        public var klToReference: Double
        /// Mean gold score: the expected gold of the model's own samples, which is what PPO optimises.
        public var gold: Double
    }

    public static func summarize(name: String, model: GPT, sft: GPT, reward: RewardModel, encoder: ChatEncoder, world: any TaskWorld,
                                 heldOut: [PromptRecord], maxNewTokens: Int, klSamplesPerPrompt: Int, seed: UInt64) throws -> StageSummary {
        let gold = try GoldEvaluation.evaluate(model: model, encoder: encoder, prompts: heldOut, world: world, maxNewTokens: maxNewTokens)
        let exchanges = try gold.samples.map { try encoder.exchange(prompt: $0.prompt, response: $0.response) }
        let rewardTotal = try reward.scores(exchanges, pad: Int32(encoder.template.endOfTextID), batchSize: 16).reduce(0, +)
        let sampled = try sampledScores(model: model, reference: sft, encoder: encoder, labeler: world, prompts: heldOut.map(\.prompt),
                                        samplesPerPrompt: klSamplesPerPrompt, maxNewTokens: maxNewTokens, seed: seed)
        return StageSummary(name: name, goldScore: gold.meanScore, sampledGoldScore: sampled.gold,
                            rewardScore: rewardTotal / Double(gold.samples.count), klToSFT: sampled.klToReference,
                            exactMatch: gold.exactMatch, samples: gold.samples)
    }

    /// Samples `samplesPerPrompt` replies per prompt from `model` (temperature 1, nothing banned, as in PPO's
    /// rollouts; reply j of the flattened list is seeded with `seed + j`) and scores them: the Monte-Carlo
    /// KL(model || reference) per reply, exactly 0 when the two models are the same, and the gold judge's mean.
    public static func sampledScores(model: GPT, reference: GPT, encoder: ChatEncoder, labeler: any Labeler, prompts: [String], samplesPerPrompt: Int,
                                     maxNewTokens: Int, seed: UInt64) throws -> SampledScores {
        let stop = encoder.template.replyStop(maxNewTokens: maxNewTokens)
        let promptTokens = try prompts.flatMap { prompt in Array(repeating: try encoder.prompt(prompt), count: samplesPerPrompt) }
        let requests = promptTokens.enumerated().map { index, prompt in
            GenerationRequest(prompt: prompt, sampling: SamplingConfig(temperature: 1, seed: seed &+ UInt64(index)), stop: stop)
        }
        let results = try BatchGenerator(model: model).generate(requests, tokenizer: encoder.tokenizer)
        let pad = Int32(encoder.template.endOfTextID)
        var total = 0.0, gold = 0.0
        for (index, result) in results.enumerated() {
            gold += labeler.score(prompt: prompts[index / samplesPerPrompt], response: String(decoding: result.text, as: UTF8.self))
        }
        for start in stride(from: 0, to: results.count, by: 16) {
            let range = start..<min(start + 16, results.count)
            let batch = ResponseBatch(prompts: range.map { promptTokens[$0] }, responses: range.map { results[$0].tokens }, pad: pad)
            let own = try batch.logProbs(model)
            let referenceLogProbs = try batch.logProbs(reference)
            for (a, b) in zip(own, referenceLogProbs) { total += PPOMath.tokenKL(logProbs: a, referenceLogProbs: b).reduce(0, +) }
        }
        return SampledScores(klToReference: total / Double(results.count), gold: gold / Double(results.count))
    }
}
