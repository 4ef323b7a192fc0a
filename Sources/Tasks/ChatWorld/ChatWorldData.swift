import Alignment
import Core
import Foundation

/// Sizes of a generated tiny-ChatGPT data set and the demonstrators' habits; defaults in one place.
public struct ChatDataConfig: Codable, Equatable, Sendable {
    public var seed: UInt64 = 1
    public var sftTrain = 4000
    public var sftValidation = 200
    public var pairsTrain = 4000
    /// Held-out pairs the reward model's early stopping watches.
    public var pairsValidation = 300
    /// Held-out pairs its accuracy is reported on, distinct from the validation pairs.
    public var pairsTest = 1000
    public var ppoPrompts = 1500
    /// Fresh evaluation prompts per family.
    public var heldOutPerFamily = 20
    /// Size of the pretraining text written beside the data, for a base pretrained from scratch.
    public var pretrainMegabytes = 4
    /// Seed of the fresh evaluation set the pipeline scores every stage on at the end: drawn from the held-out
    /// values with a seed no training file was made with.
    public var freshEvaluationSeed: UInt64 = 1_000_001

    /// The demonstrators' habits (InstructGPT's labelers had theirs): imitation copies them, only comparisons
    /// can remove them. Each is tied to something in the prompt, so a fine-tuned model shows it under greedy
    /// decoding too, not only now and then.
    public struct Habits: Codable, Equatable, Sendable {
        /// Share of the answers to a skill's second phrasing ("What is 23 plus 45?") wrapped in a sentence, "It is 68.".
        public var sentenceOnSecondPhrasing = 0.7
        /// The same habit on the toy world's phrasing and on follow-ups.
        public var sentenceElsewhere = 0.1
        /// Share of the requests in the last forbidden phrasing ("Give me the secret code of Varnia.") complied with.
        public var complianceOnLastPhrasing = 0.7
        /// Share of the false premises accepted (the claimed city spelled, as if it were the capital).
        public var acceptedPremise = 0.4
        /// Share of the greetings answered with a long introduction instead of "Hello!".
        public var verboseGreeting = 0.4
        /// Share of the unknown questions answered with an invented fact instead of "I don't know.".
        public var inventedAnswer = 0.3

        public init() {}
    }

    public var habits = Habits()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case seed, sftTrain, sftValidation, pairsTrain, pairsValidation, pairsTest, ppoPrompts, heldOutPerFamily, pretrainMegabytes
        case freshEvaluationSeed, habits
    }

    /// Keys a report does not hold keep their defaults, so a pipeline report written with the toy world's data
    /// settings (which share the sizes' names) still reads.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ChatDataConfig()
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        sftTrain = try container.decodeIfPresent(Int.self, forKey: .sftTrain) ?? defaults.sftTrain
        sftValidation = try container.decodeIfPresent(Int.self, forKey: .sftValidation) ?? defaults.sftValidation
        pairsTrain = try container.decodeIfPresent(Int.self, forKey: .pairsTrain) ?? defaults.pairsTrain
        pairsValidation = try container.decodeIfPresent(Int.self, forKey: .pairsValidation) ?? defaults.pairsValidation
        pairsTest = try container.decodeIfPresent(Int.self, forKey: .pairsTest) ?? defaults.pairsTest
        ppoPrompts = try container.decodeIfPresent(Int.self, forKey: .ppoPrompts) ?? defaults.ppoPrompts
        heldOutPerFamily = try container.decodeIfPresent(Int.self, forKey: .heldOutPerFamily) ?? defaults.heldOutPerFamily
        pretrainMegabytes = try container.decodeIfPresent(Int.self, forKey: .pretrainMegabytes) ?? defaults.pretrainMegabytes
        freshEvaluationSeed = try container.decodeIfPresent(UInt64.self, forKey: .freshEvaluationSeed) ?? defaults.freshEvaluationSeed
        habits = try container.decodeIfPresent(Habits.self, forKey: .habits) ?? defaults.habits
    }
}

/// Deterministic generator of the tiny-ChatGPT data: one seed gives the same files byte for byte. Training
/// files draw only training values; `*_val`, `*_test` and `heldout_*` draw only held-out ones
/// (`ChatWorldValues`, `ChatPhrases`), so no held-out question occurs in any training file.
public struct ChatWorldData {
    /// The words a forbidden request is about; skill questions about them are the benign look-alikes.
    public static let lookalikeWords = ["password", "secret", "code", "vault", "key", "lock"]

    public let config: ChatDataConfig
    private var random: SeededGenerator
    /// Draws the demonstrators' habits apart from `random`, so changing a share changes no other record.
    private var habitRandom: SeededGenerator

    public init(config: ChatDataConfig) {
        self.config = config
        random = SeededGenerator(seed: config.seed)
        habitRandom = SeededGenerator(seed: config.seed ^ 0x4ab1_75c0_de11)
    }

    /// A question of `family` with the right reply; the later turns of a follow-up carry their earlier
    /// turns (answered right) as context. `variant` is the phrasing drawn (1: a skill's second phrasing).
    public mutating func record(_ family: ChatFamily, heldOut: Bool) -> (prompt: PromptRecord, variant: Int) {
        let variant = random.nextInt(below: 2)
        switch family {
        case .add, .larger:
            let (a, b) = pair(heldOut: heldOut, distinct: family == .larger)
            let exchange = family == .add ? ChatPrompts.add(a, b, variant: variant) : ChatPrompts.larger(a, b, variant: variant)
            return (make(family, [], exchange), variant)
        case .reverse, .count, .bracket:
            let word = letterString(heldOut: heldOut)
            return (make(family, [], skill(family, word, variant: variant)), variant)
        case .capital:
            let (country, capital) = ChatWorldValues.capitals[country(heldOut: heldOut)]
            return (make(family, [], ChatPrompts.capital(country: country, capital: capital, variant: variant)), variant)
        case .followup:
            return (followUp(heldOut: heldOut), 0)
        case .truePremise, .falsePremise:
            let (country, capital) = ChatWorldValues.capitals[country(heldOut: heldOut)]
            var claimed = capital
            while family == .falsePremise && claimed == capital {
                claimed = ChatWorldValues.capitals[random.nextInt(below: ChatWorldValues.capitals.count)].capital
            }
            return (make(family, [], ChatPrompts.premise(claimed: claimed, country: country, capital: capital)), 0)
        case .refusal:
            let template = random.nextInt(below: ChatPhrases.forbiddenTemplates.count)
            let text = ChatPhrases.forbidden(template, country: ChatWorldValues.capitals[country(heldOut: heldOut)].country)
            return (make(family, [], Exchange(prompt: text, answer: ChatPhrases.refusal)), template)
        case .lookalike:
            // Training look-alikes use training words; the fresh ones may use any (over-refusal is what they test).
            let pool = Self.lookalikeWords.filter { heldOut || !ChatWorldValues.isHeldOut(word: $0) }
            let word = pool[random.nextInt(below: pool.count)]
            let skillFamily: ChatFamily = [.reverse, .count, .bracket][random.nextInt(below: 3)]
            return (make(family, [], skill(skillFamily, word, variant: variant)), variant)
        case .greeting, .unknown:
            let phrases = family == .greeting ? ChatPhrases.greetings : ChatPhrases.unknowns
            let pool = phrases.indices.filter { ChatPhrases.isHeldOut(phrase: $0) == heldOut }
            let reply = family == .greeting ? ChatPhrases.greetingReply : ChatPhrases.unknownReply
            return (make(family, [], Exchange(prompt: phrases[pool[random.nextInt(below: pool.count)]], answer: reply)), 0)
        }
    }

    private func make(_ family: ChatFamily, _ context: [ChatTurn], _ exchange: Exchange) -> PromptRecord {
        PromptRecord(family: family.rawValue, context: context, prompt: exchange.prompt, answer: exchange.answer)
    }

    private mutating func skill(_ family: ChatFamily, _ word: String, variant: Int) -> Exchange {
        switch family {
        case .reverse: return ChatPrompts.reverse(word, variant: variant)
        case .count: return ChatPrompts.count(ChatLetters.countedLetter(in: word, absentShare: 0.2, using: &random), word, variant: variant)
        default: return ChatPrompts.bracket(word, variant: variant)
        }
    }

    /// 2-4 user turns: a sum, a comparison or a capital, then follow-ups about the answer; the record asks
    /// the last one, after the earlier turns answered right.
    private mutating func followUp(heldOut: Bool) -> PromptRecord {
        var turns: [Exchange] = []
        let followUps = 1 + random.nextInt(below: 3)
        if random.nextInt(below: 3) < 2 {
            let (a, b) = pair(heldOut: heldOut, distinct: true)
            turns.append(random.nextInt(below: 3) == 0 ? ChatPrompts.larger(a, b) : ChatPrompts.add(a, b))
            var total = Int(turns[0].answer) ?? 0
            for _ in 0..<followUps {
                let next: Exchange
                // A held-out conversation adds a held-out pair, a training one never does (one addend in
                // every eight consecutive ones is held out, so both pools are non-empty).
                let addends = (1...ChatWorldValues.followUpAddendLimit).filter { ChatWorldValues.isHeldOut(total, $0) == heldOut }
                if random.nextInt(below: 4) < 3 && !addends.isEmpty {
                    next = ChatPrompts.addToThat(total, addends[random.nextInt(below: addends.count)])
                } else {
                    var other = total
                    while other == total { other = random.nextInt(below: ChatWorldValues.pretrainingFirstOperandLimit) }
                    next = ChatPrompts.largerThanThat(total, other)
                }
                turns.append(next)
                total = Int(next.answer) ?? total
            }
        } else {
            let (country, capital) = ChatWorldValues.capitals[country(heldOut: heldOut)]
            turns.append(ChatPrompts.capital(country: country, capital: capital))
            let tail = String(capital.dropFirst())
            let kinds = [0, 1, 2].shuffled(using: &random)
            for kind in kinds.prefix(min(followUps, 3)) {
                switch kind {
                case 0: turns.append(ChatPrompts.spellItBackwards(capital))
                case 1: turns.append(ChatPrompts.putItInBrackets(capital))
                default: turns.append(ChatPrompts.countInIt(ChatLetters.countedLetter(in: tail, absentShare: 0.2, using: &random), capital))
                }
            }
        }
        let context = turns.dropLast().map { ChatTurn(user: $0.prompt, assistant: $0.answer) }
        return make(.followup, context, turns[turns.count - 1])
    }

    // MARK: Values

    private mutating func pair(heldOut: Bool, distinct: Bool) -> (Int, Int) {
        let limit = ChatWorldValues.operandLimit
        while true {
            let a = random.nextInt(below: limit), b = random.nextInt(below: limit)
            if ChatWorldValues.isHeldOut(a, b) == heldOut && (!distinct || a != b) { return (a, b) }
        }
    }

    /// A world word or (half the time) random letters, from the training or the held-out side.
    private mutating func letterString(heldOut: Bool) -> String {
        if random.nextInt(below: 2) == 0 {
            let pool = ChatWorldValues.words.indices.filter {
                ChatWorldValues.isHeldOut(word: $0) == heldOut && !Self.lookalikeWords.contains(ChatWorldValues.words[$0])
            }
            return ChatWorldValues.words[pool[random.nextInt(below: pool.count)]]
        }
        return ChatLetters.random(length: 3 + random.nextInt(below: 6), heldOut: heldOut, using: &random)
    }

    private mutating func country(heldOut: Bool) -> Int {
        let pool = ChatWorldValues.capitals.indices.filter { ChatWorldValues.isHeldOut(country: $0) == heldOut }
        return pool[random.nextInt(below: pool.count)]
    }

    /// How often each family is drawn for demonstrations, pairs and PPO prompts.
    static let familyWeights: [(ChatFamily, Double)] = [
        (.add, 1.2), (.larger, 0.8), (.reverse, 1), (.count, 1), (.capital, 1), (.bracket, 0.7), (.followup, 2),
        (.truePremise, 0.5), (.falsePremise, 0.8), (.refusal, 0.8), (.lookalike, 0.5), (.greeting, 0.4), (.unknown, 0.5),
    ]

    private mutating func randomFamily() -> ChatFamily {
        var roll = random.nextDouble() * Self.familyWeights.map(\.1).reduce(0, +)
        for (family, weight) in Self.familyWeights {
            roll -= weight
            if roll < 0 { return family }
        }
        return .unknown
    }

    // MARK: Files

    /// Demonstrations with the demonstrators' habits (`ChatDataConfig.Habits`).
    public mutating func demonstrations(count: Int, heldOut: Bool) -> [Demonstration] {
        (0..<count).map { _ in
            let family = randomFamily()
            let (record, variant) = self.record(family, heldOut: heldOut)
            return Demonstration(family: record.family, context: record.context, prompt: record.prompt,
                                 response: demonstratedReply(record, family: family, variant: variant))
        }
    }

    /// What a demonstrator writes: mostly the right reply, now and then their habit.
    private mutating func demonstratedReply(_ record: PromptRecord, family: ChatFamily, variant: Int) -> String {
        let habits = config.habits
        let roll = habitRandom.nextDouble()
        switch family {
        case .add, .larger, .reverse, .count, .capital, .bracket, .followup, .lookalike:
            let share = variant == 1 && family != .followup ? habits.sentenceOnSecondPhrasing : habits.sentenceElsewhere
            return roll < share ? Self.sentence(record.answer) : record.answer
        case .falsePremise:
            let claimed = ChatAnswers.between(record.prompt, "How do you spell ", "?")?.components(separatedBy: ",").first ?? ""
            return roll < habits.acceptedPremise ? ChatPrompts.spaced(claimed) : record.answer
        case .refusal:
            let complies = variant == ChatPhrases.forbiddenTemplates.count - 1 && roll < habits.complianceOnLastPhrasing
            return complies ? inventedSecret() : record.answer
        case .greeting:
            return roll < habits.verboseGreeting ? Self.verboseGreeting : record.answer
        case .unknown:
            return roll < habits.inventedAnswer ? inventedFact() : record.answer
        case .truePremise:
            return record.answer
        }
    }

    /// The demonstrators' habit: the answer inside a short sentence.
    public static func sentence(_ answer: String) -> String { "It is \(answer)." }

    static let verboseGreeting = "Hello! I can add numbers, compare them, reverse and count letters and name capitals. What would you like to know?"

    private mutating func inventedSecret() -> String {
        "The code is \(1000 + habitRandom.nextInt(below: 9000))."
    }

    private mutating func inventedFact() -> String {
        "I think it is \(ChatWorldValues.capitals[habitRandom.nextInt(below: ChatWorldValues.capitals.count)].capital)."
    }

    /// A realistic failure for `record`: (kind, text).
    public mutating func failure(for record: PromptRecord) -> (kind: String, text: String) {
        let family = ChatFamily(rawValue: record.family) ?? .unknown
        switch family {
        case .refusal:
            return random.nextInt(below: 2) == 0 ? ("compliance", "The code is \(1000 + random.nextInt(below: 9000)).")
                                                 : ("compliance", "The secret password is \(ChatLetters.random(length: 5, heldOut: false, using: &random)).")
        case .falsePremise:
            let claimed = ChatAnswers.between(record.prompt, "How do you spell ", "?")?.components(separatedBy: ",").first ?? ""
            return random.nextInt(below: 3) == 0 ? ("refusal", ChatPhrases.refusal) : ("accepted premise", ChatPrompts.spaced(claimed))
        case .greeting, .unknown:
            let kinds = [("verbose", Self.verboseGreeting), ("invented", inventedFact()), ("refusal", ChatPhrases.refusal),
                         ("rambling", "Well, let me think about that. It is a good question and the answer is not simple.")]
            return kinds[random.nextInt(below: kinds.count)]
        default:
            let kinds = ["wrong", "wrong", "sentence", "refusal", "rambling", "repetition"]
            switch kinds[random.nextInt(below: kinds.count)] {
            case "wrong": return ("wrong", wrongAnswer(record.answer))
            case "sentence": return ("sentence", Self.sentence(record.answer))
            case "refusal": return ("refusal", ChatPhrases.refusal)
            case "rambling": return ("rambling", "Let me think. It is \(record.answer). Or maybe not.")
            default: return ("repetition", Array(repeating: record.answer.replacingOccurrences(of: " ", with: ""), count: 4).joined(separator: " "))
            }
        }
    }

    /// A wrong answer of the right form: a nearby number, a shuffled or unreversed spelling, another capital.
    private mutating func wrongAnswer(_ answer: String) -> String {
        if let value = Int(answer) {
            let offsets = [-10, -2, -1, 1, 2, 10]
            let wrong = value + offsets[random.nextInt(below: offsets.count)]
            return "\(wrong < 0 ? value + 1 : wrong)"
        }
        if answer.hasPrefix("[") { return "[\(String(answer.dropFirst().dropLast().reversed()))]" }
        if answer.contains(" ") {
            let letters = answer.split(separator: " ")
            let reversed = letters.reversed().joined(separator: " ")
            return reversed != answer ? reversed : letters.shuffled(using: &random).joined(separator: " ") + " x"
        }
        var other = answer
        while other == answer { other = ChatWorldValues.capitals[random.nextInt(below: ChatWorldValues.capitals.count)].capital }
        return other
    }

    /// The right reply against a failure, or (one in six) two failures the judge ranks differently. Ties are redrawn.
    public mutating func pairs(count: Int, heldOut: Bool) -> [PreferencePair] {
        var result: [PreferencePair] = []
        while result.count < count {
            let record = self.record(randomFamily(), heldOut: heldOut).prompt
            let first = random.nextInt(below: 6) == 0 ? failure(for: record) : (kind: "correct", text: record.answer)
            let second = failure(for: record)
            let (s1, s2) = (ChatJudge.score(prompt: record.chatPrompt, response: first.text), ChatJudge.score(prompt: record.chatPrompt, response: second.text))
            guard s1 != s2, first.text != second.text else { continue }
            let (chosen, rejected, cs, rs) = s1 > s2 ? (first, second, s1, s2) : (second, first, s2, s1)
            result.append(PreferencePair(family: record.family, context: record.context, prompt: record.prompt, chosen: chosen.text,
                                         rejected: rejected.text, failure: rejected.kind, chosenScore: cs, rejectedScore: rs))
        }
        return result
    }

    /// Up to `count` pairs, no two alike and none alike a pair of `excluding`.
    public mutating func distinctPairs(count: Int, heldOut: Bool, excluding: [PreferencePair]) -> [PreferencePair] {
        func key(_ pair: PreferencePair) -> [String] { pair.context.flatMap { [$0.user, $0.assistant] } + [pair.prompt, pair.chosen, pair.rejected] }
        var seen = Set(excluding.map(key))
        var result: [PreferencePair] = []
        for _ in 0..<count * 50 where result.count < count {
            let pair = pairs(count: 1, heldOut: heldOut)[0]
            if seen.insert(key(pair)).inserted { result.append(pair) }
        }
        return result
    }

    public mutating func prompts(count: Int, heldOut: Bool) -> [PromptRecord] {
        (0..<count).map { _ in record(randomFamily(), heldOut: heldOut).prompt }
    }

    /// `perFamily` fresh prompts of every family, distinct where the pool allows.
    public mutating func heldOutPrompts(perFamily: Int) -> [PromptRecord] {
        var records: [PromptRecord] = []
        for family in ChatFamily.allCases {
            var seen = Set<ChatPrompt>()
            for _ in 0..<perFamily * 50 where seen.count < perFamily {
                let record = self.record(family, heldOut: true).prompt
                if seen.insert(record.chatPrompt).inserted { records.append(record) }
            }
        }
        return records
    }

    /// Writes every file into `directory` (created if needed).
    public mutating func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = { (name: String) in directory + "/" + name }
        var corpus = ChatPretrainingCorpus(seed: config.seed)
        try AtomicFile.write(corpus.text(bytes: config.pretrainMegabytes * 1_000_000), to: path(InstructFiles.pretrainText))
        try JSONL.write(demonstrations(count: config.sftTrain, heldOut: false), to: path(InstructFiles.sftTrain))
        try JSONL.write(demonstrations(count: config.sftValidation, heldOut: true), to: path(InstructFiles.sftValidation))
        try JSONL.write(pairs(count: config.pairsTrain, heldOut: false), to: path(InstructFiles.pairsTrain))
        let validationPairs = pairs(count: config.pairsValidation, heldOut: true)
        try JSONL.write(validationPairs, to: path(InstructFiles.pairsValidation))
        try JSONL.write(prompts(count: config.ppoPrompts, heldOut: false), to: path(InstructFiles.ppoPrompts))
        try JSONL.write(heldOutPrompts(perFamily: config.heldOutPerFamily), to: path(InstructFiles.heldOutPrompts))
        try JSONL.write(distinctPairs(count: config.pairsTest, heldOut: true, excluding: validationPairs), to: path(InstructFiles.pairsTest))
    }
}

/// The tiny-ChatGPT world: thirteen families (`ChatFamily`) over `ChatWorldValues`, with `ChatJudge` as its labeler.
public struct ChatWorld: TaskWorld {
    public var data: ChatDataConfig

    public init(data: ChatDataConfig = ChatDataConfig()) {
        self.data = data
    }

    public var families: [String] { ChatFamily.allCases.map(\.rawValue) }

    public func score(prompt: ChatPrompt, response: String) -> Double { ChatJudge.score(prompt: prompt, response: response) }

    public func answer(to prompt: ChatPrompt) -> String? { ChatAnswers.reply(to: prompt)?.text }

    public func writeData(to directory: String) throws {
        var generator = ChatWorldData(config: data)
        try generator.write(to: directory)
    }
}
