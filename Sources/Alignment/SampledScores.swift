import Foundation
import Generation
import Model

/// What replies sampled from a model as PPO samples its rollouts score, per reply: the Monte-Carlo KL to a
/// reference and a labeler's mean score (the expected score of the model's own samples, which PPO optimises).
public struct SampledScores: Sendable {
    /// Mean of sum_t log p_model(a_t) - log p_reference(a_t).
    public var klToReference: Double
    /// Mean labeler score.
    public var gold: Double

    /// Samples `samplesPerPrompt` replies per prompt from `model` (temperature 1, nothing banned, as in PPO's
    /// rollouts; reply j of the flattened list is seeded with `seed + j`) and scores them: the Monte-Carlo
    /// KL(model || reference) per reply, exactly 0 when the two models are the same, and the labeler's mean.
    public static func measure(model: GPT, reference: GPT, encoder: ChatEncoder, labeler: any Labeler, prompts: [ChatPrompt],
                               samplesPerPrompt: Int, maxNewTokens: Int, seed: UInt64) throws -> SampledScores {
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
