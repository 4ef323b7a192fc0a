/// The regular expression a byte-level BPE splits text with before merging; merges never cross chunks.
/// Each pattern is implemented by a hand-written scanner (no regex engine runs while encoding) that yields
/// exactly the chunks the expression's `findall` yields; Tests/TokenizersTests checks that against
/// Python's `regex` module on a fixture.
public enum PreSplitPattern: String, CaseIterable, Codable, Sendable {
    /// GPT-2's pattern (tiktoken `r50k_base` / `gpt2`).
    case gpt2
    /// GPT-4's pattern (tiktoken `cl100k_base`, as tiktoken 0.14 spells it, with `\s++$`).
    case gpt4
    /// GPT-2's pattern with every digit its own chunk (` ?\p{N}`), as Llama and PaLM split numbers: merges
    /// never join digits, so a model reads `27 + 35` digit by digit and can learn to add with carries
    /// instead of memorising one token per number.
    case gpt2Digits = "gpt2-digits"

    /// The expression the scanner implements, for documentation and for the fixture script.
    public var expression: String {
        switch self {
        case .gpt2: return #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .gpt2Digits: return #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .gpt4:
            return #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
        }
    }

    /// Calls `emit(start, end)` for each chunk of `bytes`, in order; the chunks tile the whole buffer.
    @inline(__always)
    public func split(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Int, Int) -> Void) {
        switch self {
        case .gpt2: PreSplitScanner.splitGPT2(bytes, emit, digitsApart: false)
        case .gpt2Digits: PreSplitScanner.splitGPT2(bytes, emit, digitsApart: true)
        case .gpt4: PreSplitScanner.splitGPT4(bytes, emit)
        }
    }

    /// The chunks of `bytes` as byte arrays (convenient for tests and tools; the encoder uses `split`).
    public func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        bytes.withUnsafeBufferPointer { buffer in
            split(buffer) { start, end in result.append(Array(buffer[start..<end])) }
        }
        return result
    }
}

enum PreSplitScanner {
    private static let apostrophe: UInt8 = 0x27
    private static let space: UInt8 = 0x20
    private static let carriageReturn: UInt8 = 0x0D
    private static let lineFeed: UInt8 = 0x0A

    /// End of the run of characters of class `wanted` starting at `index`.
    @inline(__always)
    private static func runEnd(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int, _ wanted: CharacterClass) -> Int {
        var end = index
        while end < bytes.count {
            let character = scanCharacter(bytes, end)
            guard character.characterClass == wanted else { break }
            end += character.length
        }
        return end
    }

    /// `\s+(?!\S)|\s+` (and `\s++$` before them, which gives the same result) at a whitespace character:
    /// the whole run when it reaches the end of the text, else the run minus its last character
    /// (which then prefixes the next chunk), else the single character.
    @inline(__always)
    private static func whitespaceChunkEnd(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int) -> Int {
        var end = index
        var lastStart = index
        while end < bytes.count {
            let character = scanCharacter(bytes, end)
            guard character.characterClass == .whitespace else { break }
            lastStart = end
            end += character.length
        }
        if end == bytes.count || lastStart == index { return end }
        return lastStart
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d`, case-sensitive: the length of the contraction at `index`, or 0.
    @inline(__always)
    private static func gpt2ContractionLength(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        guard index + 1 < bytes.count else { return 0 }
        switch bytes[index + 1] {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return index + 2 < bytes.count && bytes[index + 2] == UInt8(ascii: "e") ? 3 : 0
        case UInt8(ascii: "l"):
            return index + 2 < bytes.count && bytes[index + 2] == UInt8(ascii: "l") ? 3 : 0
        default: return 0
        }
    }

    /// With `digitsApart` a number chunk is one digit (` ?\p{N}`) instead of a run (` ?\p{N}+`).
    static func splitGPT2(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Int, Int) -> Void, digitsApart: Bool) {
        let count = bytes.count
        var index = 0
        while index < count {
            let lead = bytes[index]
            if lead == apostrophe {
                let length = gpt2ContractionLength(bytes, index)
                if length > 0 {
                    emit(index, index + length)
                    index += length
                    continue
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
            var start = index
            if lead == space && index + 1 < count {
                start = index + 1
            }
            let character = scanCharacter(bytes, start)
            if character.characterClass != .whitespace {
                let end = digitsApart && character.characterClass == .number
                    ? start + character.length
                    : runEnd(bytes, from: start + character.length, character.characterClass)
                emit(index, end)
                index = end
                continue
            }
            // The lead is whitespace (a space followed by whitespace falls through to here as well).
            let end = whitespaceChunkEnd(bytes, from: index)
            emit(index, end)
            index = end
        }
    }

    /// `'(?i:[sdmt]|ll|ve|re)`: the length of the contraction at `index`, or 0. Case folding also maps
    /// U+017F LATIN SMALL LETTER LONG S to `s`, as the regex engines do.
    @inline(__always)
    private static func gpt4ContractionLength(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        guard index + 1 < bytes.count else { return 0 }
        let next = bytes[index + 1] | 0x20  // ASCII lowercase; only compared with letters below
        switch next {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "l"), UInt8(ascii: "v"), UInt8(ascii: "r"):
            guard index + 2 < bytes.count else { return 0 }
            let third = bytes[index + 2] | 0x20
            let wanted = next == UInt8(ascii: "l") ? UInt8(ascii: "l") : UInt8(ascii: "e")
            return third == wanted ? 3 : 0
        default:
            if bytes[index + 1] == 0xC5 && index + 2 < bytes.count && bytes[index + 2] == 0xBF { return 3 }  // 'ſ
            return 0
        }
    }

    static func splitGPT4(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Int, Int) -> Void) {
        let count = bytes.count
        var index = 0
        while index < count {
            let lead = bytes[index]
            if lead == apostrophe {
                let length = gpt4ContractionLength(bytes, index)
                if length > 0 {
                    emit(index, index + length)
                    index += length
                    continue
                }
            }
            let character = scanCharacter(bytes, index)
            let afterLead = index + character.length
            switch character.characterClass {
            case .letter:
                // `[^\r\n\p{L}\p{N}]?+\p{L}++` without the prefix.
                let end = runEnd(bytes, from: afterLead, .letter)
                emit(index, end)
                index = end
                continue
            case .number:
                // `\p{N}{1,3}+`
                var end = afterLead
                var taken = 1
                while taken < 3 && end < count {
                    let next = scanCharacter(bytes, end)
                    guard next.characterClass == .number else { break }
                    end += next.length
                    taken += 1
                }
                emit(index, end)
                index = end
                continue
            case .whitespace, .other:
                // `[^\r\n\p{L}\p{N}]?+\p{L}++` with a one-character prefix.
                if lead != carriageReturn && lead != lineFeed && afterLead < count {
                    let next = scanCharacter(bytes, afterLead)
                    if next.characterClass == .letter {
                        let end = runEnd(bytes, from: afterLead + next.length, .letter)
                        emit(index, end)
                        index = end
                        continue
                    }
                }
            }
            // ` ?[^\s\p{L}\p{N}]++[\r\n]*+`
            var punctuationStart = -1
            if character.characterClass == .other {
                punctuationStart = index
            } else if lead == space && afterLead < count && scanCharacter(bytes, afterLead).characterClass == .other {
                punctuationStart = afterLead
            }
            if punctuationStart >= 0 {
                var end = runEnd(bytes, from: punctuationStart, .other)
                while end < count && (bytes[end] == carriageReturn || bytes[end] == lineFeed) { end += 1 }
                emit(index, end)
                index = end
                continue
            }
            // Whitespace: `\s++$`, then `\s*[\r\n]`, then `\s+(?!\S)`, then `\s`.
            var runEnd = index
            var lastStart = index
            var lastNewlineEnd = -1
            while runEnd < count {
                let next = scanCharacter(bytes, runEnd)
                guard next.characterClass == .whitespace else { break }
                lastStart = runEnd
                if bytes[runEnd] == carriageReturn || bytes[runEnd] == lineFeed { lastNewlineEnd = runEnd + 1 }
                runEnd += next.length
            }
            let end: Int
            if runEnd == count {
                end = count
            } else if lastNewlineEnd >= 0 {
                end = lastNewlineEnd
            } else if lastStart > index {
                end = lastStart
            } else {
                end = runEnd
            }
            emit(index, end)
            index = end
        }
    }
}
