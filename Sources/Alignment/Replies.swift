import Generation
import Model

/// Replies of a chat model to user prompts, as text, generated in batches on the KV cache.
public enum Replies {
    /// A reply as the user sees it, and whether the model ended it with `<|end|>` (not the token limit).
    public struct Reply: Sendable {
        public var text: String
        public var endedCleanly: Bool
    }

    /// Greedy replies (at most `maxNewTokens`, ending at `<|end|>`, other chat markers banned as in `minigpt chat`).
    public static func greedy(model: GPT, encoder: ChatEncoder, prompts: [ChatPrompt], maxNewTokens: Int) throws -> [String] {
        try greedyReplies(model: model, encoder: encoder, prompts: prompts, maxNewTokens: maxNewTokens).map(\.text)
    }

    public static func greedyReplies(model: GPT, encoder: ChatEncoder, prompts: [ChatPrompt], maxNewTokens: Int) throws -> [Reply] {
        let sampling = encoder.template.replySampling(.greedy)
        let stop = encoder.template.replyStop(maxNewTokens: maxNewTokens)
        let requests = try prompts.map { GenerationRequest(prompt: try encoder.prompt($0), sampling: sampling, stop: stop) }
        return try BatchGenerator(model: model).generate(requests, tokenizer: encoder.tokenizer).map {
            Reply(text: String(decoding: $0.text, as: UTF8.self), endedCleanly: $0.stopReason == .endOfText)
        }
    }

    /// `n` replies per prompt sampled at temperature 1 with the chat markers banned; reply k of prompt i is
    /// seeded with `seed + i * n + k`, so the result does not depend on how the work is batched.
    public static func sampled(model: GPT, encoder: ChatEncoder, prompts: [ChatPrompt], n: Int, maxNewTokens: Int, seed: UInt64) throws -> [[String]] {
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
