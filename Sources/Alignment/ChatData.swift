import Generation
import Model
import Tokenizers

/// Turns instruction records into token sequences with the one shared `ChatTemplate`:
/// `<|user|>prompt<|end|><|assistant|>response<|end|>` (plus `<|endoftext|>` for SFT), after the earlier
/// turns of a multi-turn record, each written the same way.
public struct ChatEncoder {
    public let tokenizer: any Tokenizer
    public let template: ChatTemplate

    public init(tokenizer: any Tokenizer) throws {
        self.tokenizer = tokenizer
        template = try ChatTemplate(tokenizer: tokenizer)
    }

    /// The earlier turns and the new user message, as template messages.
    static func messages(_ prompt: ChatPrompt) -> [ChatTemplate.Message] {
        prompt.context.flatMap { [ChatTemplate.Message(role: .user, text: $0.user), ChatTemplate.Message(role: .assistant, text: $0.assistant)] }
            + [ChatTemplate.Message(role: .user, text: prompt.text)]
    }

    /// The prompt that asks the model for a reply: the conversation, then `<|assistant|>`.
    public func prompt(_ prompt: ChatPrompt) throws -> [Int] {
        try template.encode(Self.messages(prompt), tokenizer: tokenizer, promptAssistant: true)
    }

    /// Prompt and response as a finished exchange, ending at the response's `<|end|>`: what a reward model
    /// scores (it reads the hidden state of that last token).
    public func exchange(prompt: ChatPrompt, response: String) throws -> [Int] {
        try template.encode(Self.messages(prompt) + [ChatTemplate.Message(role: .assistant, text: response)],
                            tokenizer: tokenizer, promptAssistant: false)
    }

    /// An SFT example: inputs, next-token targets and a 0/1 weight per position (1 where the target is part
    /// of a reply or its `<|end|>`, the earlier turns' replies included; the users' messages are masked).
    public func sftExample(_ demo: Demonstration) throws -> SFTExample {
        let (tokens, trained) = try template.encodeForTraining(
            Self.messages(demo.chatPrompt) + [ChatTemplate.Message(role: .assistant, text: demo.response)], tokenizer: tokenizer)
        return SFTExample(inputs: tokens.dropLast().map(Int32.init), targets: tokens.dropFirst().map(Int32.init),
                          weights: trained.dropLast().map { $0 ? 1 : 0 })
    }
}

/// One supervised sequence: inputs (T), targets (T) and loss weights (T).
public struct SFTExample: Equatable, Sendable {
    public var inputs: [Int32]
    public var targets: [Int32]
    public var weights: [Float]
}

/// Sequences of different lengths packed into one (B, T) batch, right-padded with `pad`; padded positions
/// get weight 0 (and, being after the real tokens, cannot affect them through causal attention).
public struct PaddedBatch {
    public var tokens: [Int32]     // (B, T)
    public var targets: [Int32]    // (B, T)
    public var weights: [Float]    // (B, T)
    /// Index within its row of each sequence's last real token.
    public var lastIndices: [Int]  // (B)
    public var batch: Int
    public var time: Int

    public init(inputs: [[Int32]], targets: [[Int32]]? = nil, weights: [[Float]]? = nil, pad: Int32) {
        batch = inputs.count
        time = inputs.map(\.count).max() ?? 0
        tokens = []
        self.targets = []
        self.weights = []
        lastIndices = []
        for (row, sequence) in inputs.enumerated() {
            let padding = time - sequence.count
            tokens += sequence + [Int32](repeating: pad, count: padding)
            if let targets { self.targets += targets[row] + [Int32](repeating: pad, count: padding) }
            if let weights { self.weights += weights[row] + [Float](repeating: 0, count: padding) }
            lastIndices.append(sequence.count - 1)
        }
    }
}

extension ChatEncoder {
    /// The model must read this tokenizer's ids: the same vocabulary size.
    func checkVocabulary(of model: GPT) throws {
        guard tokenizer.vocabularySize == model.config.vocabularySize else {
            throw AlignmentError.mismatch("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary is \(model.config.vocabularySize)")
        }
    }

    /// Checks that every sequence fits the model's context: a clear error rather than a silent cut.
    func checkFits(_ length: Int, contextLength: Int, what: String) throws {
        guard length <= contextLength else {
            throw AlignmentError.invalidArgument("\(what) is \(length) tokens, longer than the model's context of \(contextLength)")
        }
    }
}
