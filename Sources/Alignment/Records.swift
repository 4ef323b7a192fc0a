/// The records the alignment algorithms train and evaluate on. They know no task world: `family` is only a
/// label that reports group by, chosen by whichever world wrote the data.

/// A supervised demonstration: the user's prompt and a good assistant response.
public struct Demonstration: Codable, Equatable, Sendable {
    public var family: String
    public var prompt: String
    public var response: String

    public init(family: String, prompt: String, response: String) {
        self.family = family
        self.prompt = prompt
        self.response = response
    }
}

/// A comparison: two responses to one prompt, `chosen` preferred by the labeler, with both scores.
public struct PreferencePair: Codable, Equatable, Sendable {
    public var family: String
    public var prompt: String
    public var chosen: String
    public var rejected: String
    /// The kind of failure `rejected` shows (a label for reports, e.g. "wrong" or "policy sample").
    public var failure: String
    public var chosenScore: Double
    public var rejectedScore: Double

    enum CodingKeys: String, CodingKey {
        case family, prompt, chosen, rejected, failure
        case chosenScore = "chosen_score"
        case rejectedScore = "rejected_score"
    }

    public init(family: String, prompt: String, chosen: String, rejected: String, failure: String,
                chosenScore: Double, rejectedScore: Double) {
        self.family = family
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.failure = failure
        self.chosenScore = chosenScore
        self.rejectedScore = rejectedScore
    }
}

/// A prompt without a response (PPO rollouts, held-out evaluation). `answer` is the world's right answer, for
/// reports only: nothing that trains reads it.
public struct PromptRecord: Codable, Equatable, Sendable {
    public var family: String
    public var prompt: String
    public var answer: String

    public init(family: String, prompt: String, answer: String) {
        self.family = family
        self.prompt = prompt
        self.answer = answer
    }
}
