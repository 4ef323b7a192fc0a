/// A question and the one reply the world accepts.
public struct Exchange: Equatable, Sendable {
    public var prompt: String
    public var answer: String

    public init(prompt: String, answer: String) {
        self.prompt = prompt
        self.answer = answer
    }
}

/// The wording of every question of the tiny-ChatGPT world and of its one right reply. The six toy-world forms
/// are kept word for word (`InstructWorld`); each skill has a second phrasing beside them. The pretraining
/// corpus, the demonstrations and the judge all build their text here, so they cannot drift apart.
public enum ChatPrompts {
    public static func spaced(_ word: String) -> String { InstructWorld.spaced(word) }

    public static func reversedSpaced(_ word: String) -> String { spaced(String(word.reversed())) }

    public static func count(of letter: Character, in word: String) -> Int { word.filter { $0 == letter }.count }

    // MARK: Single-turn skills; `variant` 0 is the toy world's form

    public static func add(_ a: Int, _ b: Int, variant: Int = 0) -> Exchange {
        let prompt = variant == 0 ? "What is \(a) + \(b)?" : "What is \(a) plus \(b)?"
        return Exchange(prompt: prompt, answer: "\(a + b)")
    }

    public static func larger(_ a: Int, _ b: Int, variant: Int = 0) -> Exchange {
        let prompt = variant == 0 ? "Which is larger, \(a) or \(b)?" : "Which number is bigger, \(a) or \(b)?"
        return Exchange(prompt: prompt, answer: "\(max(a, b))")
    }

    public static func reverse(_ word: String, variant: Int = 0) -> Exchange {
        let prompt = variant == 0 ? "Reverse the letters: \(spaced(word))" : "Spell \(word) backwards."
        return Exchange(prompt: prompt, answer: reversedSpaced(word))
    }

    public static func count(_ letter: Character, _ word: String, variant: Int = 0) -> Exchange {
        let prompt = variant == 0 ? "How many times does \(letter) appear in: \(spaced(word))"
                                  : "How many times does \(letter) appear in \(word)?"
        return Exchange(prompt: prompt, answer: "\(count(of: letter, in: word))")
    }

    public static func capital(country: String, capital: String, variant: Int = 0) -> Exchange {
        let prompt = variant == 0 ? "What is the capital of \(country)?" : "Name the capital of \(country)."
        return Exchange(prompt: prompt, answer: capital)
    }

    public static func bracket(_ word: String, variant: Int = 0) -> Exchange {
        let prompt = variant == 0 ? "Put the word \(word) in brackets." : "Write \(word) in brackets."
        return Exchange(prompt: prompt, answer: "[\(word)]")
    }

    public static func spell(_ word: String) -> Exchange {
        Exchange(prompt: "Spell the word \(word).", answer: spaced(word))
    }

    // MARK: Follow-ups: a later turn about the previous answer ("that", "it")

    public static func addToThat(_ previous: Int, _ addend: Int) -> Exchange {
        Exchange(prompt: "Now add \(addend) to that.", answer: "\(previous + addend)")
    }

    public static func largerThanThat(_ previous: Int, _ other: Int) -> Exchange {
        Exchange(prompt: "Which is larger, that or \(other)?", answer: "\(max(previous, other))")
    }

    public static func spellItBackwards(_ previous: String) -> Exchange {
        Exchange(prompt: "Spell it backwards.", answer: reversedSpaced(previous))
    }

    public static func putItInBrackets(_ previous: String) -> Exchange {
        Exchange(prompt: "Put it in brackets.", answer: "[\(previous)]")
    }

    public static func countInIt(_ letter: Character, _ previous: String) -> Exchange {
        Exchange(prompt: "How many times does \(letter) appear in it?", answer: "\(count(of: letter, in: previous))")
    }

    // MARK: False premises: the question presupposes which city is a country's capital

    /// "How do you spell Tolm, the capital of Varnia?": spelled when true, corrected when `claimed` is not the capital.
    public static func premise(claimed: String, country: String, capital: String) -> Exchange {
        let prompt = "How do you spell \(claimed), the capital of \(country)?"
        let answer = claimed == capital ? spaced(claimed) : correction(claimed: claimed, country: country, capital: capital)
        return Exchange(prompt: prompt, answer: answer)
    }

    public static func correction(claimed: String, country: String, capital: String) -> String {
        "\(claimed) is not the capital of \(country). The capital of \(country) is \(capital)."
    }
}
