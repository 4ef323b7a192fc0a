import Core
import Model
import Tokenizers

/// A synthetic task whose answer is a token N positions back. Each episode is
///
///     #  P  d_1 ... d_{N-1}  ?  P  \n
///
/// where P and the distractors d_i are drawn uniformly from the same 16 letters: after `?` the model must
/// name the letter that followed `#`, N positions earlier. Nothing nearer tells it (the distractors are the
/// same kind of token), so accuracy against N shows how far back a model can reach; chance is 1/16.
public enum LongRangeProbe {
    public static let letters = Array("abcdefghijklmnop")
    public static let cue: Character = "#", query: Character = "?"
    public static var chance: Double { 1 / Double(letters.count) }

    /// One episode up to and including the query: N + 2 characters, then the answer.
    public static func episode(distance n: Int, generator: inout SeededGenerator) -> (prompt: String, answer: Character) {
        let answer = letters[generator.nextInt(below: letters.count)]
        let distractors = (1..<n).map { _ in letters[generator.nextInt(below: letters.count)] }
        return (String(cue) + String(answer) + String(distractors) + String(query), answer)
    }

    /// Training text: `characters` worth of episodes with N uniform in 1...maxDistance.
    public static func trainingText(characters: Int, maxDistance: Int, generator: inout SeededGenerator) -> String {
        var text: [Character] = []
        text.reserveCapacity(characters + maxDistance + 4)
        while text.count < characters {
            let (prompt, answer) = episode(distance: 1 + generator.nextInt(below: maxDistance), generator: &generator)
            text += Array(prompt) + [answer, "\n"]
        }
        return String(text)
    }

    /// The fraction of `episodes` test episodes at distance N the model answers (argmax) correctly. Each sits
    /// at the end of a full context window, after the tail of other episodes, as in training.
    public static func accuracy(model: any LanguageModel, tokenizer: any Tokenizer, distance n: Int, episodes: Int,
                                maxDistance: Int, batch: Int, generator: inout SeededGenerator) throws -> Double {
        let t = model.config.contextLength
        guard n >= 1, n + 2 <= t else { throw BenchmarkError.invalid("probe distance \(n) must be in 1...\(t - 2) for context \(t)") }
        var correct = 0, done = 0
        while done < episodes {
            let rows = min(batch, episodes - done)
            var inputs: [Int32] = [], answers: [Int] = []
            for _ in 0..<rows {
                let (prompt, answer) = episode(distance: n, generator: &generator)
                let filler = trainingText(characters: t, maxDistance: maxDistance, generator: &generator)
                let window = String(filler.suffix(t - prompt.count)) + prompt
                inputs += try tokenizer.encode(window).map(Int32.init)
                answers.append(try tokenizer.encode(String(answer))[0])
            }
            guard inputs.count == rows * t else { throw BenchmarkError.invalid("the probe tokenizer does not encode one token per character") }
            try model.forward(tokens: inputs, targets: nil, batch: rows, time: t)
            for (row, answer) in answers.enumerated() {
                let logits = model.logits(row: row * t + t - 1)
                if logits.indices.max(by: { logits[$0] < logits[$1] }) == answer { correct += 1 }
            }
            done += rows
        }
        return Double(correct) / Double(episodes)
    }
}
