/// The values the tiny-ChatGPT world's questions are drawn from, and the rules that hold some of them out.
/// Every rule is a pure function of the value, so every file of the world (the pretraining corpus included)
/// agrees on it whatever its seed: a held-out value never occurs in a training file.
public enum ChatWorldValues {
    /// Operands of the single-turn add and larger prompts are 0..<operandLimit.
    public static let operandLimit = 100
    /// A follow-up addition ("Now add 12 to that.") adds 1...followUpAddendLimit.
    public static let followUpAddendLimit = 30
    /// Pretraining sums take their first operand below this, so the running totals of a follow-up chain
    /// (a sum of two operands plus up to three addends) stay in the range the base model has practised.
    public static let pretrainingFirstOperandLimit = 300

    /// The unordered pair {a, b} is held out when this hash lands on 0: about one pair in eight, the same for
    /// a + b and b + a, so commutativity cannot leak a held-out sum into training.
    public static func isHeldOut(_ a: Int, _ b: Int) -> Bool {
        (min(a, b) * 31 + max(a, b) * 17) % 8 == 0
    }

    /// A letter string is held out when its FNV-1a hash is 0 mod 8 (a fixed hash: Swift's `Hasher` is seeded
    /// per process).
    public static func isHeldOut(letters: String) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in letters.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash % 8 == 0
    }

    /// The toy world's words, then words that also name the forbidden requests' subjects, so benign
    /// questions about them ("Put the word password in brackets.") can test over-refusal.
    public static let words: [String] = InstructWorld.words + ["password", "secret", "code", "vault", "key", "lock"]

    /// Every sixth word is held out.
    public static func isHeldOut(word index: Int) -> Bool { index % 6 == 5 }

    /// Whether `word` is a word of the world that is held out.
    public static func isHeldOut(word: String) -> Bool { words.firstIndex(of: word).map { isHeldOut(word: $0) } ?? false }

    public static let capitals = InstructWorld.capitals

    /// Every fourth country is held out: its capital is stated in the pretraining text, never asked about there.
    public static func isHeldOut(country index: Int) -> Bool { index % 4 == 3 }

    public static let alphabet = Array("abcdefghijklmnopqrstuvwxyz")
}
