import Alignment
import Core
import Foundation

/// The task families of the toy instruction data. Every prompt is written from a fixed template, so the
/// gold judge can read the question back out of the prompt and compute the one right answer.
public enum TaskFamily: String, CaseIterable, Codable, Sendable {
    /// "What is 23 + 45?" -> "68"
    case add
    /// "Which is larger, 31 or 17?" -> "31"
    case larger
    /// "Reverse the letters: s t o n e" -> "e n o t s" (letters are spaced so each is a token)
    case reverse
    /// "How many times does a appear in: b a n a n a" -> "3"
    case count
    /// "What is the capital of Varnia?" -> "Korstead" (the table is also in the pretraining text)
    case capital
    /// "Put the word stone in brackets." -> "[stone]" (following an answer format)
    case bracket
}

/// One checkable question: its family, the user's prompt and the one correct answer.
public struct InstructTask: Equatable, Sendable {
    public var family: TaskFamily
    public var prompt: String
    public var answer: String

    public init(family: TaskFamily, prompt: String, answer: String) {
        self.family = family
        self.prompt = prompt
        self.answer = answer
    }

    /// The task as a prompt file's record.
    public var record: PromptRecord { PromptRecord(family: family.rawValue, prompt: prompt, answer: answer) }
}

/// The fixed world the tasks are drawn from: numbers, words and an invented country -> capital table. It
/// does not depend on the generator's seed, so the judge and every data set agree on it. Each pool is split
/// into training values and held-out values; held-out questions never occur in any training file.
public enum InstructWorld {
    /// Operands of `add` and `larger` are 0..<numberLimit.
    public static let numberLimit = 60

    /// A pair (a, b) is held out when this hash lands on 0: about one pair in eight.
    public static func isHeldOut(_ a: Int, _ b: Int) -> Bool { (a * 31 + b * 17) % 8 == 0 }

    public static let words: [String] = [
        "stone", "river", "apple", "cloud", "tiger", "bread", "light", "green", "house", "plant",
        "water", "music", "chair", "table", "sugar", "storm", "night", "grass", "horse", "smile",
        "dream", "flame", "ocean", "heart", "lemon", "piano", "queen", "robin", "snake", "train",
        "cat", "dog", "sun", "moon", "star", "tree", "bird", "fish", "rain", "snow",
        "wind", "fire", "rock", "leaf", "road", "ship", "king", "milk", "salt", "gold",
        "book", "door", "lamp", "ring", "bell", "frog", "duck", "goat", "wolf", "bear",
        "cup", "pen", "box", "hat", "map", "egg", "jam", "owl", "ant", "bee",
        "mango", "peach", "olive", "onion", "bacon", "candy", "honey", "melon", "pasta", "salad",
        "brick", "crown", "drum", "fork", "glove", "knife", "nail", "rope", "sock", "tent",
        "banana", "orange", "garden", "window", "silver", "yellow", "purple", "winter", "summer", "forest",
    ]

    /// Every sixth word is held out.
    public static func isHeldOut(word index: Int) -> Bool { index % 6 == 5 }

    /// (country, capital), invented so the only place a model can learn them is the pretraining text; enough
    /// of them that recalling a capital is a skill, not a short list.
    public static let capitals: [(country: String, capital: String)] = {
        let first = ["Var", "Bel", "Cor", "Dan", "Fen", "Gar", "Hol", "Jor", "Kel", "Lum", "Mor", "Nes", "Pel", "Ros", "Sal", "Tor",
                     "Ab", "Bor", "Cas", "Del", "Es", "Fir", "Gol", "Hun", "Il", "Kas", "Lor", "Mal", "Nor", "Ost"]
        let second = ["nia", "dor", "land", "mark", "via", "stan", "ria", "gal"]
        let town1 = ["Tol", "Ash", "Bri", "Cal", "Dur", "Eld", "Fal", "Gil", "Har", "Ily", "Kor", "Lin",
                     "Mer", "Nor", "Ost", "Pim", "Quel", "Rav", "Sten", "Tam", "Ul", "Vel", "Wen", "Yar"]
        let town2 = ["m", "ford", "ton", "wick", "by", "holm", "port", "gate", "dale", "mouth", "stead", "field"]
        var generator = SeededGenerator(seed: 2024)
        var table: [(String, String)] = []
        var usedCountries = Set<String>(), usedCapitals = Set<String>()
        while table.count < 160 {
            let country = first[generator.nextInt(below: first.count)] + second[generator.nextInt(below: second.count)]
            let capital = town1[generator.nextInt(below: town1.count)] + town2[generator.nextInt(below: town2.count)]
            guard !usedCountries.contains(country), !usedCapitals.contains(capital) else { continue }
            usedCountries.insert(country)
            usedCapitals.insert(capital)
            table.append((country, capital))
        }
        return table
    }()

    /// Every fourth country is held out (its capital still appears in the pretraining text).
    public static func isHeldOut(country index: Int) -> Bool { index % 4 == 3 }

    public static func spaced(_ word: String) -> String { word.map(String.init).joined(separator: " ") }

    // MARK: Prompts (the judge parses exactly these shapes)

    public static func addTask(_ a: Int, _ b: Int) -> InstructTask {
        InstructTask(family: .add, prompt: "What is \(a) + \(b)?", answer: "\(a + b)")
    }

    public static func largerTask(_ a: Int, _ b: Int) -> InstructTask {
        InstructTask(family: .larger, prompt: "Which is larger, \(a) or \(b)?", answer: "\(max(a, b))")
    }

    public static func reverseTask(_ word: String) -> InstructTask {
        InstructTask(family: .reverse, prompt: "Reverse the letters: \(spaced(word))", answer: spaced(String(word.reversed())))
    }

    public static func countTask(_ letter: Character, _ word: String) -> InstructTask {
        InstructTask(family: .count, prompt: "How many times does \(letter) appear in: \(spaced(word))",
                     answer: "\(word.filter { $0 == letter }.count)")
    }

    public static func capitalTask(_ index: Int) -> InstructTask {
        let entry = capitals[index]
        return InstructTask(family: .capital, prompt: "What is the capital of \(entry.country)?", answer: entry.capital)
    }

    public static func bracketTask(_ word: String) -> InstructTask {
        InstructTask(family: .bracket, prompt: "Put the word \(word) in brackets.", answer: "[\(word)]")
    }

    /// Reads a prompt back into its task, or nil when it is not one of the templates (the judge scores 0).
    public static func parse(prompt: String) -> InstructTask? {
        func between(_ text: String, _ prefix: String, _ suffix: String) -> String? {
            guard text.hasPrefix(prefix), text.hasSuffix(suffix), text.count >= prefix.count + suffix.count else { return nil }
            return String(text.dropFirst(prefix.count).dropLast(suffix.count))
        }
        func unspaced(_ text: String) -> String? {
            let letters = text.split(separator: " ", omittingEmptySubsequences: false)
            guard !letters.isEmpty, letters.allSatisfy({ $0.count == 1 }) else { return nil }
            return letters.joined()
        }
        if let body = between(prompt, "What is the capital of ", "?") {
            guard let index = capitals.firstIndex(where: { $0.country == body }) else { return nil }
            return capitalTask(index)
        }
        if let body = between(prompt, "What is ", "?") {
            let parts = body.components(separatedBy: " + ")
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return nil }
            return addTask(a, b)
        }
        if let body = between(prompt, "Which is larger, ", "?") {
            let parts = body.components(separatedBy: " or ")
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return nil }
            return largerTask(a, b)
        }
        if let body = between(prompt, "Reverse the letters: ", "") {
            return unspaced(body).map(reverseTask)
        }
        if let body = between(prompt, "How many times does ", "") {
            let parts = body.components(separatedBy: " appear in: ")
            guard parts.count == 2, parts[0].count == 1, let word = unspaced(parts[1]) else { return nil }
            return countTask(parts[0].first!, word)
        }
        if let body = between(prompt, "Put the word ", " in brackets.") {
            guard !body.isEmpty, !body.contains(" ") else { return nil }
            return bracketTask(body)
        }
        return nil
    }
}
