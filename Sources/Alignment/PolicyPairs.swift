import Model

/// Preference pairs made the InstructGPT way: a policy answers training prompts several times at temperature 1,
/// the labeler scores every answer, and each answer that scores below the best candidate becomes a `rejected`
/// against it. The written answer is one of the candidates, so a wrong sample is paired with the right answer.
/// These are the mistakes this policy actually makes, which PPO will explore; written failures alone leave the
/// reward model blind to them.
public enum PolicyPairs {
    public static let failure = "policy sample"
    /// Written beside a reward model: the judged pairs of sampled answers it trained on, to inspect or compare.
    public static let fileName = "policy_pairs.jsonl"

    /// The seed of the `index`-th model sampled for one reward model (0: the SFT model, then each earlier
    /// round's PPO policy): every model's pairs take two seeds (demonstrations, PPO prompts), so they never overlap.
    public static func seed(_ base: UInt64, sampler index: Int) -> UInt64 { base &+ 2 &* UInt64(index) }

    /// Pairs from `samplesPerPrompt` sampled answers to each demonstration's prompt, its written answer among the candidates.
    public static func make(model: GPT, encoder: ChatEncoder, labeler: any Labeler, demonstrations: [Demonstration],
                            samplesPerPrompt: Int, maxNewTokens: Int, seed: UInt64) throws -> [PreferencePair] {
        guard samplesPerPrompt >= 1 else { throw AlignmentError.invalidArgument("policy samples per prompt must be at least 1, got \(samplesPerPrompt)") }
        let replies = try Replies.sampled(model: model, encoder: encoder, prompts: demonstrations.map(\.chatPrompt), n: samplesPerPrompt,
                                          maxNewTokens: maxNewTokens, seed: seed)
        // A sample whose text re-encodes longer than the context (invalid UTF-8 becomes three-byte U+FFFD) cannot be
        // scored by a reward model of this context; it is dropped, not cut.
        let context = model.config.contextLength
        return try zip(demonstrations, replies).flatMap { demo, samples in
            let fitting = try samples.filter { try encoder.exchange(prompt: demo.chatPrompt, response: $0).count <= context }
            return label(demo: demo, samples: fitting, labeler: labeler)
        }
    }

    /// The best-scoring candidate (demonstration first on ties) against every distinct candidate that scores lower.
    static func label(demo: Demonstration, samples: [String], labeler: any Labeler) -> [PreferencePair] {
        var candidates: [(text: String, score: Double)] = [(demo.response, labeler.score(prompt: demo.chatPrompt, response: demo.response))]
        for sample in samples where !candidates.contains(where: { $0.text == sample }) {
            candidates.append((sample, labeler.score(prompt: demo.chatPrompt, response: sample)))
        }
        let best = candidates.max { $0.score < $1.score }!
        return candidates.filter { $0.score < best.score }.map {
            PreferencePair(family: demo.family, context: demo.context, prompt: demo.prompt, chosen: best.text, rejected: $0.text, failure: failure,
                           chosenScore: best.score, rejectedScore: $0.score)
        }
    }
}
