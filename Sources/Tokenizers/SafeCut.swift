/// Where a text may be cut so that encoding the parts one by one gives exactly the ids of encoding the
/// whole text: this is what lets `CorpusPreparer` stream a corpus of any size through any tokenizer.
///
/// A cut is safe between a character `x` and the next character `y` when `x` is a letter or a number and
/// `y` is of another class (punctuation, whitespace, a letter after a number, invalid UTF-8, ...). Why:
/// every pre-split pattern (gpt2, gpt4, gpt2-digits) puts `x` in a run of its own class (` ?\p{L}+`,
/// `\p{N}{1,3}`, a contraction ending in a letter), and such a run ends at the first character of another
/// class whatever follows it, so a chunk always ends between `x` and `y`, and ends there the same way when
/// the text stops after `x`. The scanners only look forward, so the chunks from `y` on depend only on the
/// bytes from `y` on, and chunks before `x`'s never looked past `x`. BPE merges never cross chunks, and a
/// character tokenizer only needs the cut to fall between characters, which it does.
public enum SafeCut {
    /// The last safe cut `p` with `0 < p <= limit` in `bytes`, or nil. The bytes must be the text from a
    /// character boundary on (the start of the corpus or an earlier cut), and must extend at least 4 bytes
    /// past a cut for it to count, so that the character after the cut is decoded as the whole text would.
    public static func last(in bytes: UnsafeBufferPointer<UInt8>, notAfter limit: Int) -> Int? {
        let limit = min(limit, bytes.count - 4)
        guard limit > 0 else { return nil }
        // Look in a small window before the limit first; text offers a cut every few bytes.
        var window = 256
        while true {
            if let cut = lastCut(in: bytes, from: max(0, limit - window), to: limit) { return cut }
            if window >= limit { return nil }
            window *= 4
        }
    }

    /// The last safe cut in `start + 1 ... end`, scanning characters forward from `start`.
    private static func lastCut(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        // A byte that is not a UTF-8 continuation byte always starts a character (the decoder never takes
        // it into an earlier sequence), so scanning from one decodes exactly as scanning from the start.
        var index = start
        while index < end && bytes[index] & 0xC0 == 0x80 { index += 1 }
        var found: Int?
        var previous: CharacterClass?
        while index <= end {
            let character = scanCharacter(bytes, index)
            if let previous, previous == .letter || previous == .number, character.characterClass != previous {
                found = index
            }
            previous = character.characterClass
            index += character.length
        }
        return found
    }
}
