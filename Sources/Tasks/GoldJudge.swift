import Foundation

/// The toy world's scripted labeler: scores a response to one of its prompts in [0, 1]. It stands in for the
/// human labelers: it orders the preference pairs and scores every stage on held-out prompts. PPO never sees it
/// (the policy optimises only the learned reward model), except in the labelled gold-reward diagnostic.
///
/// Rules, first match wins (the response is trimmed of surrounding whitespace first):
///   1.0  exactly the answer;
///   0.6  the right content in the wrong form (case, spacing, brackets or trailing punctuation differ);
///   0.4  the answer as a whole word inside a short reply (at most 12 characters more than the answer);
///   0.2  the answer inside a longer, rambling reply;
///   0.1  a well-formed but wrong answer (a number where a number is asked, spaced letters, a bracketed
///        word, a capitalised single word);
///   0    anything else: empty, refusals, off-template prompts.
/// A reply that repeats one word three or more times in a row scores at most 0.1.
public enum GoldJudge {
    public static func score(prompt: String, response: String) -> Double {
        guard let task = InstructWorld.parse(prompt: prompt) else { return 0 }
        return score(task: task, response: response)
    }

    public static func score(task: InstructTask, response: String) -> Double {
        let reply = response.trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = task.answer
        if reply == answer { return 1 }
        let base: Double
        if !reply.isEmpty && normalized(reply) == normalized(answer) {
            base = 0.6
        } else if containsWord(reply, answer) {
            base = reply.count <= answer.count + 12 ? 0.4 : 0.2
        } else if isWellFormed(reply, family: task.family) {
            base = 0.1
        } else {
            base = 0
        }
        return repeatsAWord(reply) ? min(base, 0.1) : base
    }

    /// Exact match of the whole reply (what the report calls exact-match per family).
    public static func isExact(task: InstructTask, response: String) -> Bool {
        response.trimmingCharacters(in: .whitespacesAndNewlines) == task.answer
    }

    static func normalized(_ text: String) -> String {
        String(text.lowercased().filter { $0.isLetter || $0.isNumber })
    }

    /// `answer` occurs in `text` with no letter or digit directly before or after it.
    static func containsWord(_ text: String, _ answer: String) -> Bool {
        guard !answer.isEmpty else { return false }
        var searchStart = text.startIndex
        while let range = text.range(of: answer, range: searchStart..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            let isBoundary: (Character?) -> Bool = { $0.map { !($0.isLetter || $0.isNumber) } ?? true }
            if isBoundary(before) && isBoundary(after) { return true }
            searchStart = text.index(after: range.lowerBound)
        }
        return false
    }

    static func isWellFormed(_ reply: String, family: TaskFamily) -> Bool {
        switch family {
        case .add, .larger, .count:
            return Int(reply) != nil
        case .reverse:
            let parts = reply.split(separator: " ", omittingEmptySubsequences: false)
            return !parts.isEmpty && parts.allSatisfy { $0.count == 1 && $0.first!.isLetter }
        case .capital:
            return !reply.contains(" ") && reply.first?.isUppercase == true && reply.allSatisfy(\.isLetter)
        case .bracket:
            return reply.hasPrefix("[") && reply.hasSuffix("]") && reply.count > 2 && !reply.contains(" ")
        }
    }

    static func repeatsAWord(_ reply: String) -> Bool {
        let words = reply.split(whereSeparator: { $0 == " " || $0 == "\n" })
        var run = 1
        for i in words.indices.dropFirst() {
            // Single letters repeat in spaced answers ("s s" in "g r a s s"), so only longer words count.
            run = words[i] == words[i - 1] && words[i].count > 1 ? run + 1 : 1
            if run >= 3 { return true }
        }
        return false
    }
}
