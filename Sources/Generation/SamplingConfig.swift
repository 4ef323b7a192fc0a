import Core

/// Every knob of the sampler chain (see `Sampler` for the order the controls run in).
/// The defaults below are the only place defaults live: `init()` uses them and decoding falls back to them
/// for keys a saved config leaves out.
public struct SamplingConfig: Codable, Equatable, Sendable {
    /// Divides the logits just before the draw. 0 means greedy: argmax after penalties and bias.
    public var temperature: Float = 0.8
    /// Keep only the k most likely tokens; 0 turns top-k off.
    public var topK: Int = 0
    /// Nucleus sampling threshold in (0, 1]; 1 turns top-p off.
    public var topP: Float = 1
    /// Keep tokens whose probability is at least `minP` times the largest one; in [0, 1], 0 turns min-p off.
    public var minP: Float = 0
    /// llama.cpp / CTRL repetition penalty: a token seen in the window has a positive logit divided by this
    /// and a negative logit multiplied by it. 1 turns it off; must be > 0.
    public var repetitionPenalty: Float = 1
    /// OpenAI frequency penalty: subtracts `count * frequencyPenalty` from a token seen `count` times in the window.
    public var frequencyPenalty: Float = 0
    /// OpenAI presence penalty: subtracts `presencePenalty` once from every token seen in the window.
    public var presencePenalty: Float = 0
    /// How many of the most recent tokens the three penalties look at; 0 turns the penalties off.
    public var penaltyLastN: Int = 64
    /// Added to a token's logit after the penalties; `-Float.infinity` bans the token.
    /// (JSON has no infinity: encode with a `nonConformingFloatEncodingStrategy`, or ban with e.g. -1e30.)
    public var logitBias: [Int: Float] = [:]
    /// Seeds the generator when a `Sampler` is made without one.
    public var seed: UInt64 = 1337

    public init() {}

    public init(temperature: Float? = nil, topK: Int? = nil, topP: Float? = nil, minP: Float? = nil,
                repetitionPenalty: Float? = nil, frequencyPenalty: Float? = nil, presencePenalty: Float? = nil,
                penaltyLastN: Int? = nil, logitBias: [Int: Float]? = nil, seed: UInt64? = nil) {
        if let temperature { self.temperature = temperature }
        if let topK { self.topK = topK }
        if let topP { self.topP = topP }
        if let minP { self.minP = minP }
        if let repetitionPenalty { self.repetitionPenalty = repetitionPenalty }
        if let frequencyPenalty { self.frequencyPenalty = frequencyPenalty }
        if let presencePenalty { self.presencePenalty = presencePenalty }
        if let penaltyLastN { self.penaltyLastN = penaltyLastN }
        if let logitBias { self.logitBias = logitBias }
        if let seed { self.seed = seed }
    }

    /// The smallest non-zero temperature: its reciprocal is finite (a subnormal one's is infinity, which
    /// turns the most likely token's weight into 0 * inf = NaN).
    public static let minimumTemperature = Float.leastNormalMagnitude

    /// Greedy decoding: temperature 0, every other control at its default.
    public static var greedy: SamplingConfig { SamplingConfig(temperature: 0) }

    private enum CodingKeys: String, CodingKey {
        case temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, logitBias, seed
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(temperature: try container.decodeIfPresent(Float.self, forKey: .temperature),
                  topK: try container.decodeIfPresent(Int.self, forKey: .topK),
                  topP: try container.decodeIfPresent(Float.self, forKey: .topP),
                  minP: try container.decodeIfPresent(Float.self, forKey: .minP),
                  repetitionPenalty: try container.decodeIfPresent(Float.self, forKey: .repetitionPenalty),
                  frequencyPenalty: try container.decodeIfPresent(Float.self, forKey: .frequencyPenalty),
                  presencePenalty: try container.decodeIfPresent(Float.self, forKey: .presencePenalty),
                  penaltyLastN: try container.decodeIfPresent(Int.self, forKey: .penaltyLastN),
                  logitBias: try container.decodeIfPresent([Int: Float].self, forKey: .logitBias),
                  seed: try container.decodeIfPresent(UInt64.self, forKey: .seed))
    }

    /// True when any of the three penalties would change a logit.
    public var usesPenalties: Bool {
        penaltyLastN > 0 && (repetitionPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0)
    }

    /// Throws a one-line error for values the sampler cannot use.
    public func validate() throws {
        func fail(_ message: String) -> GenerationError { .invalidSamplingConfig(message) }
        guard temperature.isFinite, temperature >= 0 else {
            throw fail("temperature must be 0 (greedy) or positive, got \(temperature)")
        }
        guard temperature == 0 || temperature >= Self.minimumTemperature else {
            throw fail("temperature \(temperature) is too small to divide by; use 0 for greedy or at least \(Self.minimumTemperature)")
        }
        guard topK >= 0 else { throw fail("top-k must be 0 (off) or positive, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw fail("top-p must be in (0, 1] (1 turns it off), got \(topP)") }
        guard minP >= 0, minP <= 1 else { throw fail("min-p must be in [0, 1] (0 turns it off), got \(minP)") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw fail("repetition penalty must be positive (1 turns it off), got \(repetitionPenalty)")
        }
        guard frequencyPenalty.isFinite else { throw fail("frequency penalty must be finite, got \(frequencyPenalty)") }
        guard presencePenalty.isFinite else { throw fail("presence penalty must be finite, got \(presencePenalty)") }
        guard penaltyLastN >= 0 else { throw fail("penalty window must be 0 (off) or positive, got \(penaltyLastN)") }
        for (token, bias) in logitBias.sorted(by: { $0.key < $1.key }) {
            guard token >= 0 else { throw fail("logit bias names token \(token); token ids are not negative") }
            guard !bias.isNaN, bias != .infinity else {
                throw fail("logit bias for token \(token) must be finite or -inf (a ban), got \(bias)")
            }
        }
    }

    /// `validate()` plus the checks that need the vocabulary: every biased token must exist.
    public func validate(vocabularySize: Int) throws {
        try validate()
        if let token = logitBias.keys.filter({ $0 >= vocabularySize }).min() {
            throw GenerationError.invalidSamplingConfig(
                "logit bias names token \(token) but the vocabulary has \(vocabularySize) tokens (ids 0..<\(vocabularySize))")
        }
    }
}

/// Errors raised by the Generation module. Each case renders as one line a CLI can print as it is.
public enum GenerationError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidSamplingConfig(String)
    case invalidStopCondition(String)
    /// A generation request or chat input that cannot be run (empty or too long prompt, mismatched sizes).
    case invalidRequest(String)
    /// The model cannot chat (e.g. its tokenizer lacks the chat template's special tokens).
    case chatUnsupported(String)
    /// The sampler had nothing to draw from: every token banned, or the model's logits not finite.
    case samplingFailed(String)

    public var description: String {
        switch self {
        case .invalidSamplingConfig(let message): return "invalid sampling setting: \(message)"
        case .invalidStopCondition(let message): return "invalid stop condition: \(message)"
        case .invalidRequest(let message): return message
        case .chatUnsupported(let message): return message
        case .samplingFailed(let message): return message
        }
    }

    /// The same error with `prefix` (e.g. "request 2: ") in front of its message.
    func prefixed(_ prefix: String) -> GenerationError {
        guard !prefix.isEmpty else { return self }
        switch self {
        case .invalidSamplingConfig(let message): return .invalidSamplingConfig(prefix + message)
        case .invalidStopCondition(let message): return .invalidStopCondition(prefix + message)
        case .invalidRequest(let message): return .invalidRequest(prefix + message)
        case .chatUnsupported(let message): return .chatUnsupported(prefix + message)
        case .samplingFailed(let message): return .samplingFailed(prefix + message)
        }
    }
}
