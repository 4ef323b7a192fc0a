import Core

/// Plain text for pretraining the tiny-ChatGPT base: the world's facts and its skills worked on many values,
/// one line each, with no chat markers (the base has never seen the template). Only training values occur
/// (`ChatWorldValues`' rules); held-out countries appear only in statements of their capital, never in a
/// question, so a fine-tuned model must pull those facts out of what it read.
///
/// Every answer follows what it is computed from, as in a reply. Lines are either statements
/// ("23 plus 45 is 68.") or question and answer ("Q: What is 23 + 45? A: 68"), the questions in the words
/// the chat prompts use, so fine-tuning only has to teach the template, not the skills.
public struct ChatPretrainingCorpus {
    /// Relative frequency of each kind of line.
    public struct Mix: Sendable {
        public var sums = 0.30
        public var comparisons = 0.07
        public var letters = 0.30
        public var capitals = 0.15
        public var followUps = 0.12
        public var premises = 0.06

        public init() {}

        var weights: [Double] { [sums, comparisons, letters, capitals, followUps, premises] }
    }

    public let mix: Mix
    private var random: SeededGenerator
    private let trainingWords: [String]
    private let trainingCountries: [Int]

    public init(seed: UInt64, mix: Mix = Mix()) {
        self.mix = mix
        random = SeededGenerator(seed: seed)
        let values = ChatWorldValues.self
        trainingWords = values.words.indices.filter { !values.isHeldOut(word: $0) }.map { values.words[$0] }
        trainingCountries = values.capitals.indices.filter { !values.isHeldOut(country: $0) }
    }

    /// Whole lines, each ending in a newline, until the text holds at least `bytes` UTF-8 bytes.
    public mutating func text(bytes: Int) -> String {
        var text = ""
        text.reserveCapacity(bytes + 256)
        while text.utf8.count < bytes {
            text += line()
            text += "\n"
        }
        return text
    }

    public mutating func line() -> String {
        switch pick(mix.weights) {
        case 0: return sumLine()
        case 1: return comparisonLine()
        case 2: return letterLine()
        case 3: return capitalLine()
        case 4: return followUpLine()
        default: return premiseLine()
        }
    }

    // MARK: Kinds of line

    private mutating func sumLine() -> String {
        let (a, b) = trainingPair(wide: coin(0.3))
        switch random.nextInt(below: 4) {
        case 0: return "\(a) + \(b) = \(a + b)"
        case 1: return "\(a) plus \(b) is \(a + b)."
        default: return qa(ChatPrompts.add(a, b, variant: random.nextInt(below: 2)))
        }
    }

    private mutating func comparisonLine() -> String {
        var (a, b) = trainingPair(wide: coin(0.3))
        while a == b { (a, b) = trainingPair(wide: false) }
        switch random.nextInt(below: 3) {
        case 0: return "Of \(a) and \(b), the larger is \(max(a, b))."
        default: return qa(ChatPrompts.larger(a, b, variant: random.nextInt(below: 2)))
        }
    }

    private mutating func letterLine() -> String {
        let word = letterString()
        let variant = random.nextInt(below: 2)
        switch random.nextInt(below: 10) {
        case 0: return "\(word) is spelled \(ChatPrompts.spaced(word))."
        case 1: return qa(ChatPrompts.spell(word))
        case 2: return "The letters \(ChatPrompts.spaced(word)) reversed are \(ChatPrompts.reversedSpaced(word))."
        case 3, 4: return qa(ChatPrompts.reverse(word, variant: variant))
        case 5:
            let letter = countedLetter(in: word)
            return "In \(ChatPrompts.spaced(word)) the letter \(letter) appears \(ChatPrompts.count(of: letter, in: word)) times."
        case 6, 7: return qa(ChatPrompts.count(countedLetter(in: word), word, variant: variant))
        case 8: return "\(word) in brackets is [\(word)]."
        default: return qa(ChatPrompts.bracket(word, variant: variant))
        }
    }

    private mutating func capitalLine() -> String {
        let index = random.nextInt(below: ChatWorldValues.capitals.count)
        let (country, capital) = ChatWorldValues.capitals[index]
        let statements = ["The capital of \(country) is \(capital).", "\(capital) is the capital of \(country).",
                          "\(capital) is the largest city in \(country)."]
        // A held-out country is only ever stated, never asked about.
        guard !ChatWorldValues.isHeldOut(country: index), coin(0.4) else {
            return statements[random.nextInt(below: statements.count)]
        }
        return qa(ChatPrompts.capital(country: country, capital: capital, variant: random.nextInt(below: 2)))
    }

    /// A conversation written out as questions and answers, each later question about the previous answer.
    private mutating func followUpLine() -> String {
        var exchanges: [Exchange] = []
        if coin(0.6) {
            let (a, b) = trainingPair(wide: false)
            var first = ChatPrompts.add(a, b)
            if coin(0.3) {
                first = ChatPrompts.larger(a, b)
            }
            exchanges.append(first)
            var total = Int(first.answer) ?? 0
            for _ in 0..<(1 + random.nextInt(below: 3)) {
                let next: Exchange
                if coin(0.7) {
                    var addend = 0
                    repeat { addend = 1 + random.nextInt(below: ChatWorldValues.followUpAddendLimit) }
                    while ChatWorldValues.isHeldOut(total, addend)
                    next = ChatPrompts.addToThat(total, addend)
                } else {
                    var other = total
                    repeat { other = random.nextInt(below: ChatWorldValues.pretrainingFirstOperandLimit) } while other == total
                    next = ChatPrompts.largerThanThat(total, other)
                }
                exchanges.append(next)
                total = Int(next.answer) ?? total
            }
        } else {
            let (country, capital) = ChatWorldValues.capitals[trainingCountries[random.nextInt(below: trainingCountries.count)]]
            exchanges.append(ChatPrompts.capital(country: country, capital: capital))
            // Different follow-ups: asking the same thing twice teaches nothing.
            let kinds = [0, 1, 2].shuffled(using: &random)
            for kind in kinds.prefix(1 + random.nextInt(below: 2)) {
                switch kind {
                case 0: exchanges.append(ChatPrompts.spellItBackwards(capital))
                case 1: exchanges.append(ChatPrompts.putItInBrackets(capital))
                // Letters after the capital's first: lowercase, as the question asks.
                default: exchanges.append(ChatPrompts.countInIt(countedLetter(in: String(capital.dropFirst())), capital))
                }
            }
        }
        return exchanges.map(qa).joined(separator: " ")
    }

    private mutating func premiseLine() -> String {
        let (country, capital) = ChatWorldValues.capitals[trainingCountries[random.nextInt(below: trainingCountries.count)]]
        var claimed = capital
        if coin(0.6) {
            while claimed == capital {
                claimed = ChatWorldValues.capitals[trainingCountries[random.nextInt(below: trainingCountries.count)]].capital
            }
        }
        if claimed != capital && coin(0.3) {
            return ChatPrompts.correction(claimed: claimed, country: country, capital: capital)
        }
        return qa(ChatPrompts.premise(claimed: claimed, country: country, capital: capital))
    }

    // MARK: Values

    private func qa(_ exchange: Exchange) -> String { "Q: \(exchange.prompt) A: \(exchange.answer)" }

    /// A pair that is not held out; `wide` lets the first operand run to the follow-ups' range.
    private mutating func trainingPair(wide: Bool) -> (Int, Int) {
        let firstLimit = wide ? ChatWorldValues.pretrainingFirstOperandLimit : ChatWorldValues.operandLimit
        while true {
            let a = random.nextInt(below: firstLimit), b = random.nextInt(below: ChatWorldValues.operandLimit)
            if !ChatWorldValues.isHeldOut(a, b) { return coin(0.5) ? (a, b) : (b, a) }
        }
    }

    /// A training word, a training country's capital, or (most often) random letters that are neither a
    /// word of the world nor held out.
    private mutating func letterString() -> String {
        let roll = random.nextDouble()
        if roll < 0.25 { return trainingWords[random.nextInt(below: trainingWords.count)] }
        if roll < 0.4 {
            return ChatWorldValues.capitals[trainingCountries[random.nextInt(below: trainingCountries.count)]].capital
        }
        return ChatLetters.random(length: 2 + random.nextInt(below: 8), heldOut: false, using: &random)
    }

    /// One of `word`'s letters by position (a doubled letter twice as often), or one it lacks one time in five.
    private mutating func countedLetter(in word: String) -> Character {
        ChatLetters.countedLetter(in: word, absentShare: 0.2, using: &random)
    }

    private mutating func coin(_ probability: Double) -> Bool { random.nextDouble() < probability }

    private mutating func pick(_ weights: [Double]) -> Int {
        var roll = random.nextDouble() * weights.reduce(0, +)
        for (index, weight) in weights.enumerated() {
            roll -= weight
            if roll < 0 { return index }
        }
        return weights.count - 1
    }
}

/// Random letter strings and counted letters, shared by the corpus and the chat data.
public enum ChatLetters {
    /// `length` random lowercase letters from the training or the held-out side of the rule, never a word of
    /// the world.
    public static func random(length: Int, heldOut: Bool, using random: inout SeededGenerator) -> String {
        let alphabet = ChatWorldValues.alphabet
        while true {
            let text = String((0..<length).map { _ in alphabet[random.nextInt(below: alphabet.count)] })
            if ChatWorldValues.isHeldOut(letters: text) == heldOut && !ChatWorldValues.words.contains(text) { return text }
        }
    }

    /// One of `word`'s letters by position, or with probability `absentShare` a lowercase letter it lacks.
    public static func countedLetter(in word: String, absentShare: Double, using random: inout SeededGenerator) -> Character {
        let letters = Array(word)
        let spelled = letters[random.nextInt(below: letters.count)]
        let absent = ChatWorldValues.alphabet.filter { !word.contains($0) }
        guard random.nextDouble() < absentShare, !absent.isEmpty else { return spelled }
        return absent[random.nextInt(below: absent.count)]
    }
}
