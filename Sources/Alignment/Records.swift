/// The records the alignment algorithms train and evaluate on. They know no task world: `family` is only a
/// label that reports group by, chosen by whichever world wrote the data. A record of a multi-turn
/// conversation carries its earlier turns in `context` (JSON key `context`, omitted when empty, so
/// single-turn files keep their shape).

/// One earlier exchange of a conversation: the user's message and the assistant's reply.
public struct ChatTurn: Codable, Hashable, Sendable {
    public var user: String
    public var assistant: String

    public init(user: String, assistant: String) {
        self.user = user
        self.assistant = assistant
    }
}

/// What a reply answers: the conversation so far (oldest turn first) and the user's new message.
public struct ChatPrompt: Codable, Hashable, Sendable {
    public var context: [ChatTurn]
    public var text: String

    public init(context: [ChatTurn] = [], text: String) {
        self.context = context
        self.text = text
    }
}

/// A supervised demonstration: the user's prompt (after `context`) and a good assistant response.
public struct Demonstration: Codable, Equatable, Sendable {
    public var family: String
    public var context: [ChatTurn]
    public var prompt: String
    public var response: String

    public init(family: String, context: [ChatTurn] = [], prompt: String, response: String) {
        self.family = family
        self.context = context
        self.prompt = prompt
        self.response = response
    }

    public var chatPrompt: ChatPrompt { ChatPrompt(context: context, text: prompt) }

    enum CodingKeys: String, CodingKey { case family, context, prompt, response }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        family = try container.decode(String.self, forKey: .family)
        context = try container.decodeIfPresent([ChatTurn].self, forKey: .context) ?? []
        prompt = try container.decode(String.self, forKey: .prompt)
        response = try container.decode(String.self, forKey: .response)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(family, forKey: .family)
        if !context.isEmpty { try container.encode(context, forKey: .context) }
        try container.encode(prompt, forKey: .prompt)
        try container.encode(response, forKey: .response)
    }
}

/// A comparison: two responses to one prompt, `chosen` preferred by the labeler, with both scores.
public struct PreferencePair: Codable, Equatable, Sendable {
    public var family: String
    public var context: [ChatTurn]
    public var prompt: String
    public var chosen: String
    public var rejected: String
    /// The kind of failure `rejected` shows (a label for reports, e.g. "wrong" or "policy sample").
    public var failure: String
    public var chosenScore: Double
    public var rejectedScore: Double

    enum CodingKeys: String, CodingKey {
        case family, context, prompt, chosen, rejected, failure
        case chosenScore = "chosen_score"
        case rejectedScore = "rejected_score"
    }

    public init(family: String, context: [ChatTurn] = [], prompt: String, chosen: String, rejected: String, failure: String,
                chosenScore: Double, rejectedScore: Double) {
        self.family = family
        self.context = context
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.failure = failure
        self.chosenScore = chosenScore
        self.rejectedScore = rejectedScore
    }

    public var chatPrompt: ChatPrompt { ChatPrompt(context: context, text: prompt) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        family = try container.decode(String.self, forKey: .family)
        context = try container.decodeIfPresent([ChatTurn].self, forKey: .context) ?? []
        prompt = try container.decode(String.self, forKey: .prompt)
        chosen = try container.decode(String.self, forKey: .chosen)
        rejected = try container.decode(String.self, forKey: .rejected)
        failure = try container.decode(String.self, forKey: .failure)
        chosenScore = try container.decode(Double.self, forKey: .chosenScore)
        rejectedScore = try container.decode(Double.self, forKey: .rejectedScore)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(family, forKey: .family)
        if !context.isEmpty { try container.encode(context, forKey: .context) }
        try container.encode(prompt, forKey: .prompt)
        try container.encode(chosen, forKey: .chosen)
        try container.encode(rejected, forKey: .rejected)
        try container.encode(failure, forKey: .failure)
        try container.encode(chosenScore, forKey: .chosenScore)
        try container.encode(rejectedScore, forKey: .rejectedScore)
    }
}

/// A prompt without a response (PPO rollouts, held-out evaluation). `answer` is the world's right answer, for
/// reports only: nothing that trains reads it.
public struct PromptRecord: Codable, Equatable, Sendable {
    public var family: String
    public var context: [ChatTurn]
    public var prompt: String
    public var answer: String

    public init(family: String, context: [ChatTurn] = [], prompt: String, answer: String) {
        self.family = family
        self.context = context
        self.prompt = prompt
        self.answer = answer
    }

    public var chatPrompt: ChatPrompt { ChatPrompt(context: context, text: prompt) }

    enum CodingKeys: String, CodingKey { case family, context, prompt, answer }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        family = try container.decode(String.self, forKey: .family)
        context = try container.decodeIfPresent([ChatTurn].self, forKey: .context) ?? []
        prompt = try container.decode(String.self, forKey: .prompt)
        answer = try container.decode(String.self, forKey: .answer)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(family, forKey: .family)
        if !context.isEmpty { try container.encode(context, forKey: .context) }
        try container.encode(prompt, forKey: .prompt)
        try container.encode(answer, forKey: .answer)
    }
}
