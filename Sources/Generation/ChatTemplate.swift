import Tokenizers

/// A tokenizer that can name the ids of its special tokens (the byte-level BPE tokenizer can).
public protocol SpecialTokenVocabulary {
    /// Special token text -> id.
    var specialTokens: [String: Int] { get }
}

/// The one definition of how a conversation becomes tokens, shared by `minigpt chat` and by supervised
/// fine-tuning, reward modelling and PPO, so a model is trained on exactly what it is later prompted with.
///
/// Every message is its role's marker, the message's text encoded as ordinary text, then `<|end|>`:
///
///     <|system|>You are terse.<|end|><|user|>Hi there<|end|><|assistant|>Hello.<|end|><|user|>...
///
/// No newlines or spaces are added around markers. The system message is optional and comes first. To ask
/// for a reply, the prompt ends with `<|assistant|>`; the model writes the reply and ends it with `<|end|>`.
/// A finished training conversation ends with `<|endoftext|>` after the last `<|end|>`.
/// Markers are special tokens (single ids), appended directly: user text that happens to contain
/// "<|user|>" is encoded as ordinary text and can never forge a turn boundary.
public struct ChatTemplate: Equatable, Sendable {
    public static let systemMarker = "<|system|>"
    public static let userMarker = "<|user|>"
    public static let assistantMarker = "<|assistant|>"
    public static let endMarker = "<|end|>"
    public static let endOfText = "<|endoftext|>"
    /// The special tokens a tokenizer needs for chat, in the order a trainer should add them.
    public static let specialTokens = [endOfText, systemMarker, userMarker, assistantMarker, endMarker]

    public enum Role: String, Codable, Sendable {
        case system, user, assistant
    }

    public struct Message: Equatable, Sendable {
        public var role: Role
        public var text: String
        /// The message's content ids when they are known exactly (a generated reply keeps the ids the model
        /// sampled, so re-encoding its text cannot change them); otherwise `text` is encoded.
        public var tokens: [Int]?

        public init(role: Role, text: String, tokens: [Int]? = nil) {
            self.role = role
            self.text = text
            self.tokens = tokens
        }
    }

    public let systemID: Int
    public let userID: Int
    public let assistantID: Int
    public let endID: Int
    public let endOfTextID: Int

    /// Looks up the template's markers; throws a one-line error naming the missing ones.
    public init(specialTokenIDs ids: [String: Int]) throws {
        let missing = Self.specialTokens.filter { ids[$0] == nil }
        guard missing.isEmpty else {
            throw GenerationError.chatUnsupported(
                "the tokenizer lacks the chat template's special tokens \(missing.joined(separator: " ")); "
                    + "chat needs a model whose BPE tokenizer was trained with them (see docs/inference.md)")
        }
        systemID = ids[Self.systemMarker]!
        userID = ids[Self.userMarker]!
        assistantID = ids[Self.assistantMarker]!
        endID = ids[Self.endMarker]!
        endOfTextID = ids[Self.endOfText]!
    }

    /// The template for `tokenizer`; a tokenizer without special tokens (e.g. the char-level one) gets a
    /// one-line `GenerationError.chatUnsupported`.
    public init(tokenizer: any Tokenizer) throws {
        guard let vocabulary = tokenizer as? any SpecialTokenVocabulary else {
            throw GenerationError.chatUnsupported(
                "this model's tokenizer has no special tokens, so it cannot hold the chat template "
                    + "(\(Self.specialTokens.joined(separator: " "))); chat needs a model with a BPE tokenizer trained with them")
        }
        try self.init(specialTokenIDs: vocabulary.specialTokens)
    }

    public func marker(of role: Role) -> Int {
        switch role {
        case .system: return systemID
        case .user: return userID
        case .assistant: return assistantID
        }
    }

    /// Marker, content, `<|end|>`.
    public func encode(_ message: Message, tokenizer: any Tokenizer) throws -> [Int] {
        [marker(of: message.role)] + (try message.tokens ?? tokenizer.encode(message.text)) + [endID]
    }

    /// The messages in order; with `promptAssistant`, followed by `<|assistant|>` to ask for a reply.
    public func encode(_ messages: [Message], tokenizer: any Tokenizer, promptAssistant: Bool) throws -> [Int] {
        var ids: [Int] = []
        for message in messages { ids += try encode(message, tokenizer: tokenizer) }
        if promptAssistant { ids.append(assistantID) }
        return ids
    }

    /// A finished conversation for supervised fine-tuning: the messages then `<|endoftext|>`, with
    /// `trained[i]` true where the loss applies: the positions whose *next* token is assistant content or the
    /// `<|end|>` closing an assistant message (the model learns to write replies and to end them, never to
    /// write the user's side). `trained` has one entry per token; the last is false (nothing follows it).
    public func encodeForTraining(_ messages: [Message], tokenizer: any Tokenizer) throws -> (tokens: [Int], trained: [Bool]) {
        var tokens: [Int] = []
        var targetIsReply: [Bool] = []  // per token: is this token part of a reply (content or its <|end|>)
        for message in messages {
            let ids = try encode(message, tokenizer: tokenizer)
            tokens += ids
            targetIsReply += ids.indices.map { message.role == .assistant && $0 > 0 }
        }
        tokens.append(endOfTextID)
        targetIsReply.append(false)
        let trained = tokens.indices.map { $0 + 1 < tokens.count && targetIsReply[$0 + 1] }
        return (tokens, trained)
    }

    /// The conversation as readable text with the markers spelled out (for logs and documentation).
    public func render(_ messages: [Message], promptAssistant: Bool) -> String {
        var text = ""
        for message in messages {
            let marker = message.role == .system ? Self.systemMarker : message.role == .user ? Self.userMarker : Self.assistantMarker
            text += marker + message.text + Self.endMarker
        }
        return promptAssistant ? text + Self.assistantMarker : text
    }

    /// Tokens that may not appear inside a reply (the other markers); chat bans them with a -inf logit bias,
    /// so a reply ends only at `<|end|>` or the token limit.
    public var bannedInReply: [Int] { [systemID, userID, assistantID, endOfTextID] }

    /// `sampling` with the other markers banned: how chat (and every evaluation of a chat model) samples a reply.
    public func replySampling(_ sampling: SamplingConfig) -> SamplingConfig {
        var banned = sampling
        for id in bannedInReply { banned.logitBias[id] = -.infinity }
        return banned
    }

    /// A reply ends at `<|end|>` or after `maxNewTokens`.
    public func replyStop(maxNewTokens: Int) -> StopCondition {
        StopCondition(maxNewTokens: maxNewTokens, endOfTextID: endID)
    }
}

extension BPETokenizer: SpecialTokenVocabulary {}
