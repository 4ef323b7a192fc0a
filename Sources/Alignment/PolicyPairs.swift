import Foundation
import Model
import Tokenizers

/// Preference pairs made the InstructGPT way: a policy (the SFT model, or in a later reward round a PPO policy)
/// answers training prompts several times at temperature 1, the scripted labeler (the gold judge) scores every
/// answer, and each answer that scores below the best candidate becomes a `rejected` against it. The
/// demonstration's answer is one of the candidates, so a wrong sample is paired with the right answer. These
/// rejected answers are the mistakes this policy actually makes, which is what PPO will explore; synthetic
/// failures alone leave the reward model blind to them.
public enum PolicyPairs {
    public static let failure = "policy sample"
    /// Written beside a reward model: the judged pairs of sampled answers it trained on, to inspect or compare.
    public static let fileName = "policy_pairs.jsonl"

    /// The seed of the `index`-th model sampled for one reward model (0: the SFT model, then each earlier
    /// round's PPO policy): every model's pairs take two seeds (demonstrations, PPO prompts), so they never overlap.
    public static func seed(_ base: UInt64, sampler index: Int) -> UInt64 { base &+ 2 &* UInt64(index) }

    public static func make(model: GPT, encoder: ChatEncoder, demonstrations: [Demonstration], samplesPerPrompt: Int,
                            maxNewTokens: Int, seed: UInt64) throws -> [PreferencePair] {
        guard samplesPerPrompt >= 1 else { throw AlignmentError.invalidArgument("policy samples per prompt must be at least 1") }
        let replies = try GoldEvaluation.sample(model: model, encoder: encoder, prompts: demonstrations.map(\.prompt), n: samplesPerPrompt,
                                                maxNewTokens: maxNewTokens, seed: seed)
        return zip(demonstrations, replies).flatMap { label(demo: $0, samples: $1) }
    }

    /// The same for prompts without a written answer (e.g. PPO's prompts): the labeler's own right answer,
    /// computed from the prompt, is the written candidate.
    public static func make(model: GPT, encoder: ChatEncoder, prompts: [PromptRecord], samplesPerPrompt: Int,
                            maxNewTokens: Int, seed: UInt64) throws -> [PreferencePair] {
        let demonstrations = prompts.compactMap { record in
            InstructWorld.parse(prompt: record.prompt).map { Demonstration(family: record.family, prompt: record.prompt, response: $0.answer) }
        }
        return try make(model: model, encoder: encoder, demonstrations: demonstrations, samplesPerPrompt: samplesPerPrompt,
                        maxNewTokens: maxNewTokens, seed: seed)
    }

    /// What the reward model trains on besides the written pairs: the policy's answers to the SFT prompts and
    /// to PPO's prompts (the ones PPO will sample on), each set labelled as above.
    public static func make(model: GPT, encoder: ChatEncoder, demonstrations: [Demonstration], ppoPrompts: [PromptRecord],
                            samplesPerPrompt: Int, maxNewTokens: Int, seed: UInt64) throws -> [PreferencePair] {
        try make(model: model, encoder: encoder, demonstrations: demonstrations, samplesPerPrompt: samplesPerPrompt,
                 maxNewTokens: maxNewTokens, seed: seed)
            + make(model: model, encoder: encoder, prompts: ppoPrompts, samplesPerPrompt: samplesPerPrompt, maxNewTokens: maxNewTokens,
                   seed: seed &+ 1)
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
