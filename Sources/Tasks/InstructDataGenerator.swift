import Alignment
import Core
import Foundation

/// The files of an instruction data directory, as written by `minigpt data instruct`.
public enum InstructFiles {
    public static let pretrainText = "pretrain.txt"
    public static let sftTrain = "sft_train.jsonl"
    public static let sftValidation = "sft_val.jsonl"
    public static let pairsTrain = "pairs_train.jsonl"
    public static let pairsValidation = "pairs_val.jsonl"
    public static let ppoPrompts = "ppo_prompts.jsonl"
    public static let heldOutPrompts = "heldout_prompts.jsonl"
    public static let pairsTest = "pairs_test.jsonl"
}

/// Sizes of a generated data set; defaults in one place.
public struct InstructDataConfig: Codable, Equatable, Sendable {
    public var seed: UInt64 = 1
    public var sftTrain = 3000
    public var sftValidation = 150
    public var pairsTrain = 3000
    /// Held-out pairs the reward model's early stopping watches.
    public var pairsValidation = 200
    /// Held-out pairs its accuracy is reported on: distinct, none also a validation pair, never used to
    /// choose a checkpoint or a setting.
    public var pairsTest = 1000
    public var ppoPrompts = 1000
    /// Held-out evaluation prompts per family.
    public var heldOutPerFamily = 20
    /// How many times each pretraining sentence kind is repeated (with shuffling) in pretrain.txt.
    public var pretrainRepeats = 6
    /// Random letter strings per repeat, each reversed, bracketed and counted in pretrain.txt.
    public var pretrainRandomStrings = 300
    /// Sum and comparison sentences of training pairs per repeat.
    public var pretrainArithmetic = 800
    /// Share of the PPO prompts of the letter families (reverse, count, bracket) that use random letter strings.
    public var ppoLetterStringShare = 0.5
    /// Share of the count questions (and counting sentences of pretrain.txt) about a letter the word lacks
    /// (answer 0); almost every word spells each letter once, so the others' answer is nearly always 1.
    public var absentLetterShare = 0.2
    /// Share of the demonstrations whose writer wrapped the right answer in a short sentence, "It is 54.", where
    /// the judge wants the bare answer: a habit imitation copies and only comparisons (the reward model) can undo.
    public var sentenceDemonstrationShare = 0.3

    public init() {}
}

/// Deterministic generator of the toy instruction data: one seed gives the same files byte for byte.
/// Training files draw only training values (pairs, words, countries); `*_val`, `*_test` and `heldout_*` files draw
/// only held-out values, so no held-out question occurs in any training file.
public struct InstructDataGenerator {
    public let config: InstructDataConfig
    private var generator: SeededGenerator
    /// Draws which demonstrations are written as a sentence, apart from `generator`, so the share changes no
    /// other file of a seed.
    private var habitGenerator: SeededGenerator

    public init(config: InstructDataConfig) {
        self.config = config
        generator = SeededGenerator(seed: config.seed)
        habitGenerator = SeededGenerator(seed: config.seed ^ 0x5e47_e4ce)
    }

    /// A random task of `family` from the training pool or the held-out pool. With `letterString`, the
    /// letter families use a random string of letters (never a word of the world) instead of a word.
    public mutating func task(_ family: TaskFamily, heldOut: Bool, letterString: Bool = false) -> InstructTask {
        let world = InstructWorld.self
        switch family {
        case .add, .larger:
            while true {
                let a = generator.nextInt(below: world.numberLimit), b = generator.nextInt(below: world.numberLimit)
                guard world.isHeldOut(a, b) == heldOut, family == .add || a != b else { continue }
                return family == .add ? world.addTask(a, b) : world.largerTask(a, b)
            }
        case .reverse, .count, .bracket:
            let pool = world.words.indices.filter { world.isHeldOut(word: $0) == heldOut }
            let word = letterString ? randomLetters() : world.words[pool[generator.nextInt(below: pool.count)]]
            switch family {
            case .reverse: return world.reverseTask(word)
            case .bracket: return world.bracketTask(word)
            default:
                return world.countTask(countedLetter(in: word), word)
            }
        case .capital:
            let pool = world.capitals.indices.filter { world.isHeldOut(country: $0) == heldOut }
            return world.capitalTask(pool[generator.nextInt(below: pool.count)])
        }
    }

    private mutating func randomFamily() -> TaskFamily {
        TaskFamily.allCases[generator.nextInt(below: TaskFamily.allCases.count)]
    }

    /// A realistic failure for `task` of the training or held-out split: (kind, text).
    public mutating func failure(for task: InstructTask, heldOut: Bool) -> (kind: String, text: String) {
        let kinds = ["wrong", "wrong", "rambling", "format", "refusal", "repetition"]
        let kind = kinds[generator.nextInt(below: kinds.count)]
        switch kind {
        case "wrong": return (kind, wrongAnswer(for: task, heldOut: heldOut))
        case "rambling":
            let openers = ["Let me think.", "Good question.", "Well, hmm."]
            let closers = ["Not sure.", "Or maybe not.", "I think so."]
            return (kind, "\(openers[generator.nextInt(below: openers.count)]) It is \(task.answer). "
                        + closers[generator.nextInt(below: closers.count)])
        case "format": return (kind, wrongFormat(for: task))
        case "refusal":
            let refusals = ["I am sorry, but I cannot help with that.", "I cannot answer that question.",
                            "Sorry, I do not know."]
            return (kind, refusals[generator.nextInt(below: refusals.count)])
        default:
            let piece = task.family == .reverse ? task.answer.replacingOccurrences(of: " ", with: "") : task.answer
            return (kind, Array(repeating: piece, count: 4 + generator.nextInt(below: 3)).joined(separator: " "))
        }
    }

    /// A wrong capital or word comes from the task's own split, so a rejected answer never teaches the reward
    /// model that held-out values are wrong.
    private mutating func wrongAnswer(for task: InstructTask, heldOut: Bool) -> String {
        switch task.family {
        case .add, .count:
            let value = Int(task.answer)!
            let offsets = [-2, -1, 1, 2, 10]
            let wrong = value + offsets[generator.nextInt(below: offsets.count)]
            return "\(wrong < 0 ? value + 1 : wrong)"
        case .larger:
            let numbers = task.prompt.dropFirst("Which is larger, ".count).dropLast().components(separatedBy: " or ").compactMap { Int($0) }
            return "\(numbers.min()!)"
        case .reverse:
            // The letters in their original order: the classic failure of not reversing.
            let word = String(task.prompt.dropFirst("Reverse the letters: ".count))
            return word == task.answer ? InstructWorld.spaced(String(word.filter { $0 != " " }.shuffled(using: &generator))) : word
        case .capital:
            let pool = InstructWorld.capitals.indices.filter { InstructWorld.isHeldOut(country: $0) == heldOut }
            var other = task.answer
            while other == task.answer { other = InstructWorld.capitals[pool[generator.nextInt(below: pool.count)]].capital }
            return other
        case .bracket:
            let pool = InstructWorld.words.indices.filter { InstructWorld.isHeldOut(word: $0) == heldOut }
            var other = task.answer
            while other == task.answer { other = "[\(InstructWorld.words[pool[generator.nextInt(below: pool.count)]])]" }
            return other
        }
    }

    private func wrongFormat(for task: InstructTask) -> String {
        switch task.family {
        case .add, .larger, .count: return "The answer is: \(task.answer)!"
        case .reverse: return task.answer.replacingOccurrences(of: " ", with: "")
        case .capital: return task.answer.lowercased()
        case .bracket: return "(" + task.answer.dropFirst().dropLast() + ")"
        }
    }

    /// The right answer, written as a short sentence by a `sentenceDemonstrationShare` of the demonstrators.
    public mutating func demonstrations(count: Int, heldOut: Bool) -> [Demonstration] {
        (0..<count).map { _ in
            let t = task(randomFamily(), heldOut: heldOut)
            let asSentence = habitGenerator.nextDouble() < config.sentenceDemonstrationShare
            return Demonstration(family: t.family.rawValue, prompt: t.prompt, response: asSentence ? Self.sentence(t.answer) : t.answer)
        }
    }

    /// The demonstrators' habit: the answer inside a short sentence (the judge's "answer in a short reply", 0.4).
    public static func sentence(_ answer: String) -> String { "It is \(answer)." }

    /// Mostly the right answer against a failure; one pair in six compares two failures the judge ranks
    /// differently (labelers also compare two imperfect answers). Ties are redrawn.
    public mutating func pairs(count: Int, heldOut: Bool) -> [PreferencePair] {
        var result: [PreferencePair] = []
        while result.count < count {
            let t = task(randomFamily(), heldOut: heldOut)
            let first = generator.nextInt(below: 6) == 0 ? failure(for: t, heldOut: heldOut) : (kind: "correct", text: t.answer)
            let second = failure(for: t, heldOut: heldOut)
            let (s1, s2) = (GoldJudge.score(task: t, response: first.text), GoldJudge.score(task: t, response: second.text))
            guard s1 != s2, first.text != second.text else { continue }
            let (chosen, rejected, cs, rs) = s1 > s2 ? (first, second, s1, s2) : (second, first, s2, s1)
            result.append(PreferencePair(family: t.family.rawValue, prompt: t.prompt, chosen: chosen.text, rejected: rejected.text,
                                         failure: rejected.kind, chosenScore: cs, rejectedScore: rs))
        }
        return result
    }

    /// Up to `count` pairs, no two alike and none alike a pair of `excluding` (same prompt, chosen and
    /// rejected): the test pairs, kept apart from the validation pairs that choose the reward model's checkpoint.
    /// A pool too small for `count` gives fewer pairs rather than repeats.
    public mutating func distinctPairs(count: Int, heldOut: Bool, excluding: [PreferencePair]) -> [PreferencePair] {
        func key(_ pair: PreferencePair) -> [String] { [pair.prompt, pair.chosen, pair.rejected] }
        var seen = Set(excluding.map(key))
        var result: [PreferencePair] = []
        for _ in 0..<count * 50 where result.count < count {
            let pair = pairs(count: 1, heldOut: heldOut)[0]
            if seen.insert(key(pair)).inserted { result.append(pair) }
        }
        return result
    }

    /// Prompts for PPO. A `letterStringShare` of the training prompts of the letter families use random
    /// letter strings: new values every time, which no model has memorised, so the reward model's comparisons
    /// of the policy's answers to them teach checking rather than recall.
    public mutating func prompts(count: Int, heldOut: Bool) -> [PromptRecord] {
        (0..<count).map { _ in
            let family = randomFamily()
            let letters = !heldOut && [.reverse, .count, .bracket].contains(family) && generator.nextDouble() < config.ppoLetterStringShare
            let t = task(family, heldOut: heldOut, letterString: letters)
            return t.record
        }
    }

    /// `perFamily` held-out prompts of every family, distinct where the pool allows.
    public mutating func heldOutPrompts(perFamily: Int) -> [PromptRecord] {
        var records: [PromptRecord] = []
        for family in TaskFamily.allCases {
            var seen = Set<String>()
            // A small pool (the held-out countries) gives fewer prompts rather than repeats.
            for _ in 0..<perFamily * 50 where seen.count < perFamily {
                let t = task(family, heldOut: true)
                guard !seen.contains(t.prompt) else { continue }
                seen.insert(t.prompt)
                records.append(t.record)
            }
        }
        return records
    }

    /// Plain text for pretraining the base model. World facts: the capital table (every country, held-out
    /// ones too, as the knowledge a fact question retrieves; one of its sentences quotes the capital, and
    /// the training countries are also asked about as "Q: ... A: ...") and every word spelled out, once after "The
    /// word" and once opening a line (so the word's unspaced token, the one a bracketed answer uses, is
    /// familiar). Skills, only ever on training values: words reversed, put in brackets and letters
    /// counted, the same for random letter strings (never a word of the world) so the skill is not tied to
    /// the words, and sums and comparisons of training pairs. Every answer comes after what it is computed
    /// from, as in a reply (a count written before its letters could only be memorised). No chat markers: the base model has never seen the template.
    public mutating func pretrainingText() -> String {
        var sentences: [String] = []
        let world = InstructWorld.self
        let trainingWords = world.words.indices.filter { !world.isHeldOut(word: $0) }.map { world.words[$0] }
        for _ in 0..<config.pretrainRepeats {
            for (index, entry) in world.capitals.enumerated() {
                sentences.append("The capital of \(entry.country) is \(entry.capital).")
                // Quoted, the capital is spelled with the tokens a reply uses ("Tolm", not " Tolm" after a
                // space): the only sentence that teaches those tokens from the country's name.
                sentences.append("The capital of \(entry.country) is \"\(entry.capital)\".")
                sentences.append("\(entry.capital) is the largest city in \(entry.country).")
                sentences.append("Travellers to \(entry.country) arrive in \(entry.capital).")
                // Questions answered from the stored fact, for training countries only: seeing questions
                // during pretraining is what lets a fine-tuned model pull out facts it was never asked about.
                if !world.isHeldOut(country: index) {
                    sentences.append("Q: What is the capital of \(entry.country)? A: \(entry.capital).")
                }
            }
            for word in world.words {
                sentences.append("The word \(word) is spelled \(world.spaced(word)).")
                sentences.append("\(word) is spelled \(world.spaced(word)).")
            }
            for word in trainingWords { sentences.append(contentsOf: skillSentences(word, word: true)) }
            for _ in 0..<config.pretrainRandomStrings { sentences.append(contentsOf: skillSentences(randomLetters(), word: false)) }
            for _ in 0..<config.pretrainArithmetic {
                var a = 0, b = 0
                repeat {
                    a = generator.nextInt(below: world.numberLimit)
                    b = generator.nextInt(below: world.numberLimit)
                } while world.isHeldOut(a, b)
                if generator.nextInt(below: 2) == 0 || a == b {
                    sentences.append("\(a) plus \(b) is \(a + b).")
                } else {
                    sentences.append("Of \(a) and \(b), the larger is \(max(a, b)).")
                }
            }
        }
        sentences.shuffle(using: &generator)
        return sentences.joined(separator: "\n") + "\n"
    }

    /// Reversal, brackets and one letter count of `text` (a training word or a random string).
    private mutating func skillSentences(_ text: String, word: Bool) -> [String] {
        let world = InstructWorld.self
        let name = word ? "The word \(text)" : "The letters \(world.spaced(text))"
        let letter = countedLetter(in: text)
        let count = text.filter { $0 == letter }.count
        return ["\(name) reversed is \(world.spaced(String(text.reversed()))).",
                "\(text) in brackets is [\(text)].",
                "In \(world.spaced(text)) the letter \(letter) appears \(count) times."]
    }

    /// The letter a count question asks about: with probability `absentLetterShare` one that `text` lacks
    /// (answer 0), otherwise one of its letters drawn by position (so a doubled letter, answer 2, is drawn twice as often).
    private mutating func countedLetter(in text: String) -> Character {
        let letters = Array(text)
        let spelled = letters[generator.nextInt(below: letters.count)]
        guard generator.nextDouble() < config.absentLetterShare else { return spelled }
        let absent = Self.alphabet.filter { !text.contains($0) }
        return absent[generator.nextInt(below: absent.count)]
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz")

    /// Three to six random letters that are not a word of the world (so no held-out word is spelled here).
    private mutating func randomLetters() -> String {
        let alphabet = Self.alphabet
        while true {
            let length = 3 + generator.nextInt(below: 4)
            let text = String((0..<length).map { _ in alphabet[generator.nextInt(below: alphabet.count)] })
            if !InstructWorld.words.contains(text) { return text }
        }
    }
}

extension InstructDataGenerator {
    /// Writes every file into `directory` (created if needed).
    public mutating func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = { (name: String) in directory + "/" + name }
        try AtomicFile.write(pretrainingText(), to: path(InstructFiles.pretrainText))
        try JSONL.write(demonstrations(count: config.sftTrain, heldOut: false), to: path(InstructFiles.sftTrain))
        try JSONL.write(demonstrations(count: config.sftValidation, heldOut: true), to: path(InstructFiles.sftValidation))
        try JSONL.write(pairs(count: config.pairsTrain, heldOut: false), to: path(InstructFiles.pairsTrain))
        let validationPairs = pairs(count: config.pairsValidation, heldOut: true)
        try JSONL.write(validationPairs, to: path(InstructFiles.pairsValidation))
        try JSONL.write(prompts(count: config.ppoPrompts, heldOut: false), to: path(InstructFiles.ppoPrompts))
        try JSONL.write(heldOutPrompts(perFamily: config.heldOutPerFamily), to: path(InstructFiles.heldOutPrompts))
        // Drawn last, so the earlier files of a seed do not depend on it.
        try JSONL.write(distinctPairs(count: config.pairsTest, heldOut: true, excluding: validationPairs), to: path(InstructFiles.pairsTest))
    }
}
