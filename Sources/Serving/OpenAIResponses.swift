import Foundation

/// The JSON shapes of OpenAI's replies for one request: `text_completion` / `chat.completion` objects, and the
/// chunks of a stream, all sharing one id and creation time.
struct ReplyFormat: Sendable {
    let kind: CompletionJob.Kind
    let model: String
    let id: String
    let created: Int

    init(kind: CompletionJob.Kind, model: String) {
        self.kind = kind
        self.model = model
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + suffix
        created = Int(Date().timeIntervalSince1970)
    }

    private func envelope(_ object: String, choices: [JSONValue], usage: JSONValue?) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("id", .string(id)), ("object", .string(object)), ("created", .int(created)),
                                            ("model", .string(model)), ("choices", .array(choices))]
        if let usage { pairs.append(("usage", usage)) }
        return .object(pairs)
    }

    private func usage(_ completion: GenerationUpdate.Completion) -> JSONValue {
        .object([("prompt_tokens", .int(completion.promptTokens)), ("completion_tokens", .int(completion.completionTokens)),
                 ("total_tokens", .int(completion.promptTokens + completion.completionTokens))])
    }

    /// The whole reply of a request that did not stream.
    func whole(text: String, completion: GenerationUpdate.Completion) -> JSONValue {
        let finish = JSONValue.string(completion.finishReason)
        let choice: JSONValue = kind == .chat
            ? .object([("index", .int(0)), ("message", .object([("role", .string("assistant")), ("content", .string(text))])),
                       ("finish_reason", finish)])
            : .object([("index", .int(0)), ("text", .string(text)), ("logprobs", .null), ("finish_reason", finish)])
        return envelope(kind == .chat ? "chat.completion" : "text_completion", choices: [choice], usage: usage(completion))
    }

    /// One streamed chunk: new text, or (with `finish`) the end of the choice. A chat stream's first chunk
    /// carries the role.
    func chunk(role: Bool, text: String, finish: String?) -> JSONValue {
        let reason = finish.map(JSONValue.string) ?? .null
        if kind == .completion {
            return envelope("text_completion", choices: [.object([("index", .int(0)), ("text", .string(text)), ("logprobs", .null),
                                                                  ("finish_reason", reason)])], usage: nil)
        }
        var delta: [(String, JSONValue)] = []
        if role { delta.append(("role", .string("assistant"))) }
        if finish == nil { delta.append(("content", .string(text))) }
        return envelope("chat.completion.chunk", choices: [.object([("index", .int(0)), ("delta", .object(delta)),
                                                                    ("logprobs", .null), ("finish_reason", reason)])], usage: nil)
    }

    /// `stream_options.include_usage`: a chunk with no choices and the token counts, just before `[DONE]`.
    func usageChunk(_ completion: GenerationUpdate.Completion) -> JSONValue {
        envelope(kind == .chat ? "chat.completion.chunk" : "text_completion", choices: [], usage: usage(completion))
    }
}
