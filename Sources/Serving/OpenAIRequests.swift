import Foundation
import Generation
import Model
import Tokenizers

/// A checked request, ready for the generation service.
public struct CompletionJob: Sendable {
    public enum Kind: Sendable { case completion, chat }
    public var kind: Kind
    public var request: GenerationRequest
    public var stream: Bool
    /// `stream_options.include_usage`: a last chunk with the token counts before `[DONE]`.
    public var includeUsage: Bool
}

/// Turns the JSON bodies of `/v1/completions` and `/v1/chat/completions` into `CompletionJob`s. Every
/// field is checked for its type and range; anything wrong is an `APIError` (400) naming the field.
///
/// Mapping to the sampler chain (`Sampler`): temperature [0, 2] (0 is greedy), top_p (0, 1],
/// presence_penalty and frequency_penalty [-2, 2] over the last 64 tokens, logit_bias {"id": -100...100}
/// (-100 bans the token), seed (a random one when absent), max_tokens, stop (a string or up to 4).
/// llama.cpp's extensions top_k, min_p and repeat_penalty are accepted too. Unknown fields are ignored.
/// A chat request's messages go through `ChatTemplate` (the template `minigpt chat` and training use),
/// with the other markers banned in the reply, exactly as `minigpt chat` samples.
public struct RequestParser: Sendable {
    public let tokenizer: any Tokenizer
    public let config: ModelConfig
    /// Nil when the model's tokenizer cannot hold the chat template (then only completions work).
    public let template: ChatTemplate?
    public static let defaultCompletionTokens = 16
    public static let defaultChatTokens = 256
    /// Largest max_tokens accepted; a sequence longer than the context goes on over a rebuilt cache.
    public static let maxTokensLimit = 1 << 16
    public static let maxStopBytes = 1024

    public init(tokenizer: any Tokenizer, config: ModelConfig) {
        self.tokenizer = tokenizer
        self.config = config
        template = try? ChatTemplate(tokenizer: tokenizer)
    }

    public func completion(_ body: Data) throws(APIError) -> CompletionJob {
        let fields = try Fields(body)
        let prompt = try promptTokens(fields)
        let maxTokens = try fields.integer("max_tokens", in: 1...Self.maxTokensLimit) ?? Self.defaultCompletionTokens
        let stop = StopCondition(maxNewTokens: maxTokens, stopStrings: try stopStrings(fields), endOfTextID: tokenizer.endOfTextID)
        let request = GenerationRequest(prompt: prompt, sampling: try sampling(fields), stop: stop)
        return try job(.completion, request, fields, promptParam: "prompt")
    }

    public func chat(_ body: Data) throws(APIError) -> CompletionJob {
        guard let template else {
            throw APIError.invalid("this model's tokenizer has no chat template markers; use /v1/completions", code: "chat_unsupported")
        }
        let fields = try Fields(body)
        let messages = try chatMessages(fields)
        let prompt: [Int]
        do { prompt = try template.encode(messages, tokenizer: tokenizer, promptAssistant: true) } catch {
            throw APIError.invalid("the messages cannot be encoded: \(error)", param: "messages")
        }
        let newest = try fields.integer("max_completion_tokens", in: 1...Self.maxTokensLimit)
        let older = try fields.integer("max_tokens", in: 1...Self.maxTokensLimit)
        let maxTokens = newest ?? older ?? Self.defaultChatTokens
        var stop = template.replyStop(maxNewTokens: maxTokens)
        stop.stopStrings = try stopStrings(fields)
        let request = GenerationRequest(prompt: prompt, sampling: template.replySampling(try sampling(fields)), stop: stop)
        return try job(.chat, request, fields, promptParam: "messages")
    }

    private func job(_ kind: CompletionJob.Kind, _ request: GenerationRequest, _ fields: Fields,
                     promptParam: String) throws(APIError) -> CompletionJob {
        if let n = try fields.integer("n", in: 1...Int.max), n != 1 {
            throw APIError.invalid("only n = 1 is supported, got \(n)", param: "n")
        }
        _ = try fields.string("model")
        guard request.prompt.count <= config.contextLength else {
            throw APIError.invalid("the prompt is \(request.prompt.count) tokens, longer than the model's context of \(config.contextLength)",
                                   param: promptParam, code: "context_length_exceeded")
        }
        do { try request.validate(for: config) } catch { throw APIError.invalid("\(error)", param: promptParam) }
        // The sampler needs one token left to draw (a chat reply also has the template's markers banned).
        guard request.sampling.logitBias.values.filter({ $0 == -.infinity }).count < config.vocabularySize else {
            throw APIError.invalid("'logit_bias' bans every token, so nothing could be sampled", param: "logit_bias")
        }
        let stream = try fields.bool("stream") ?? false
        var includeUsage = false
        if let options = fields.object["stream_options"], options != .null {
            guard case .object = options else { throw APIError.invalid("'stream_options' must be an object", param: "stream_options") }
            includeUsage = try Fields(options, prefix: "stream_options.").bool("include_usage") ?? false
        }
        return CompletionJob(kind: kind, request: request, stream: stream, includeUsage: includeUsage)
    }

    /// `prompt`: a string, a list of one string, or a list of token ids.
    private func promptTokens(_ fields: Fields) throws(APIError) -> [Int] {
        let text: String
        switch fields.object["prompt"] {
        case .string(let value)?:
            text = value
        case .array(let items)? where !items.isEmpty:
            if items.count == 1, case .string(let value) = items[0] {
                text = value
                break
            }
            var ids: [Int] = []
            for item in items {
                guard case .int(let id) = item, (0..<config.vocabularySize).contains(id) else {
                    throw APIError.invalid("'prompt' as a list must hold token ids in 0..<\(config.vocabularySize) (or be one string)", param: "prompt")
                }
                ids.append(id)
            }
            return ids
        case nil, .null?:
            throw APIError.invalid("'prompt' is required", param: "prompt")
        default:
            throw APIError.invalid("'prompt' must be a string, a list of one string or a list of token ids", param: "prompt")
        }
        guard !text.isEmpty else { throw APIError.invalid("'prompt' is empty", param: "prompt") }
        do { return try tokenizer.encode(text) } catch {
            throw APIError.invalid("the prompt cannot be encoded: \(error)", param: "prompt")
        }
    }

    private func chatMessages(_ fields: Fields) throws(APIError) -> [ChatTemplate.Message] {
        guard case .array(let items)? = fields.object["messages"], !items.isEmpty else {
            throw APIError.invalid("'messages' must be a non-empty list of {role, content} objects", param: "messages")
        }
        var messages: [ChatTemplate.Message] = []
        for (index, item) in items.enumerated() {
            let name = "messages[\(index)]"
            guard case .object = item else { throw APIError.invalid("'\(name)' must be an object", param: name) }
            let message = try Fields(item, prefix: name + ".")
            let role: ChatTemplate.Role
            switch try message.string("role") {
            case "system"?, "developer"?: role = .system
            case "user"?: role = .user
            case "assistant"?: role = .assistant
            case let other:
                throw APIError.invalid("'\(name).role' must be system, user or assistant, got \(other.map { "'\($0)'" } ?? "nothing")",
                                       param: name + ".role")
            }
            if role == .system && index > 0 {
                throw APIError.invalid("a system message may only come first (the chat template has one system prompt)", param: name + ".role")
            }
            messages.append(ChatTemplate.Message(role: role, text: try message.content()))
        }
        return messages
    }

    private func stopStrings(_ fields: Fields) throws(APIError) -> [String] {
        let stops: [String]
        switch fields.object["stop"] {
        case nil, .null?: return []
        case .string(let value)?: stops = [value]
        case .array(let items)?:
            stops = try items.map { item throws(APIError) in
                guard case .string(let value) = item else { throw APIError.invalid("'stop' must be a string or a list of strings", param: "stop") }
                return value
            }
        default: throw APIError.invalid("'stop' must be a string or a list of strings", param: "stop")
        }
        guard stops.count <= 4 else { throw APIError.invalid("'stop' takes at most 4 strings, got \(stops.count)", param: "stop") }
        guard !stops.contains("") else { throw APIError.invalid("'stop' strings must not be empty", param: "stop") }
        // Each token is matched against every stop string, on the thread all sequences share.
        guard stops.allSatisfy({ $0.utf8.count <= Self.maxStopBytes }) else {
            throw APIError.invalid("'stop' strings must be at most \(Self.maxStopBytes) bytes", param: "stop")
        }
        return stops
    }

    private func sampling(_ fields: Fields) throws(APIError) -> SamplingConfig {
        var bias: [Int: Float] = [:]
        if let value = fields.object["logit_bias"], value != .null {
            guard case .object(let pairs) = value else {
                throw APIError.invalid("'logit_bias' must be an object of token id -> bias", param: "logit_bias")
            }
            let entries = try Fields(value, prefix: "logit_bias.")
            for (key, _) in pairs {
                guard let id = Int(key), (0..<config.vocabularySize).contains(id) else {
                    throw APIError.invalid("'logit_bias' key '\(key)' is not a token id in 0..<\(config.vocabularySize)", param: "logit_bias")
                }
                let amount = try entries.number(key, in: -100...100)!
                bias[id] = amount <= -100 ? -.infinity : Float(amount)
            }
        }
        let seed = try fields.integer("seed", in: 0...Int.max).map(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        return SamplingConfig(
            temperature: try fields.number("temperature", in: 0...2).map(Float.init) ?? 1,
            topK: try fields.integer("top_k", in: 0...Int.max) ?? 0,
            topP: try fields.number("top_p", in: 0...1, excludingLower: true).map(Float.init) ?? 1,
            minP: try fields.number("min_p", in: 0...1).map(Float.init) ?? 0,
            repetitionPenalty: try fields.number("repeat_penalty", in: 0...100, excludingLower: true).map(Float.init) ?? 1,
            frequencyPenalty: try fields.number("frequency_penalty", in: -2...2).map(Float.init) ?? 0,
            presencePenalty: try fields.number("presence_penalty", in: -2...2).map(Float.init) ?? 0,
            logitBias: bias, seed: seed)
    }
}

/// Typed, range-checked access to one JSON object's fields; `null` counts as absent (as OpenAI treats it).
struct Fields {
    let object: JSONValue
    let prefix: String

    init(_ body: Data) throws(APIError) {
        guard let value = JSONValue.parse(body) else { throw APIError.invalid("the request body is not valid JSON") }
        guard case .object = value else { throw APIError.invalid("the request body must be a JSON object") }
        self.init(value, prefix: "")
    }

    init(_ object: JSONValue, prefix: String) {
        self.object = object
        self.prefix = prefix
    }

    private func fail(_ key: String, _ what: String) -> APIError {
        APIError.invalid("'\(prefix)\(key)' \(what)", param: prefix + key)
    }

    func number(_ key: String, in range: ClosedRange<Double>, excludingLower: Bool = false) throws(APIError) -> Double? {
        let value: Double
        switch object[key] {
        case nil, .null?: return nil
        case .int(let x)?: value = Double(x)
        case .double(let x)?: value = x
        default: throw fail(key, "must be a number")
        }
        let lower = excludingLower ? "(" : "["
        guard range.contains(value), !(excludingLower && value == range.lowerBound) else {
            throw fail(key, "must be in \(lower)\(range.lowerBound.formatted), \(range.upperBound.formatted)], got \(value.formatted)")
        }
        return value
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case .int(let x)?:
            guard range.contains(x) else {
                throw fail(key, range.upperBound == Int.max ? "must be at least \(range.lowerBound), got \(x)"
                                                             : "must be in \(range.lowerBound)...\(range.upperBound), got \(x)")
            }
            return x
        default: throw fail(key, "must be an integer")
        }
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let x)?: return x
        default: throw fail(key, "must be true or false")
        }
    }

    func string(_ key: String) throws(APIError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let x)?: return x
        default: throw fail(key, "must be a string")
        }
    }

    /// A message's `content`: a string, or a list of {"type": "text", "text": ...} parts joined.
    func content() throws(APIError) -> String {
        switch object["content"] {
        case .string(let text)?: return text
        case .array(let parts)?:
            var text = ""
            for part in parts {
                guard case .string(let piece)? = part["text"], part["type"] == .string("text") else {
                    throw fail("content", "parts must be {\"type\": \"text\", \"text\": ...}; only text is supported")
                }
                text += piece
            }
            return text
        default: throw fail("content", "must be a string or a list of text parts")
        }
    }
}

private extension Double {
    /// 2 rather than 2.0 in messages.
    var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
