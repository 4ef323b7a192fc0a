/// What `BPETrainer.train` produced, and whether it ran out of pairs before reaching the requested size.
public struct BPETrainingResult: Sendable {
    public let tokenizer: BPETokenizer
    /// Merges learned (ordinary tokens beyond the 256 bytes).
    public let mergeCount: Int
    /// Distinct pre-split chunks the corpus held (identical chunks are counted once, with a weight).
    public let distinctChunks: Int
    /// True when every chunk was a single token before the vocabulary reached the requested size.
    public var stoppedEarly: Bool { tokenizer.vocabularySize < requestedVocabularySize }
    public let requestedVocabularySize: Int
}

/// Learns a byte-level BPE vocabulary: ids 0...255 are the byte values, then one token per merge, then
/// the special tokens (`<|endoftext|>` first, always present).
///
/// The corpus is pre-split with the pattern and identical chunks are counted once with their frequency.
/// Pair counts are kept up to date incrementally: a merge only revisits the chunks that contain the
/// merged pair (found through a per-pair list of chunks), subtracting their old pairs and adding the new
/// ones. A max-heap with lazy deletion yields the next pair.
///
/// Tie-breaking: the pair with the highest count wins; among equal counts, the pair whose first id is
/// smallest, then whose second id is smallest. Within a chunk, occurrences are merged left to right
/// (`a a a` with pair `(a, a)` becomes `aa a`). If a merge forms bytes that are already a token (two
/// different pairs can spell the same string), the chunks use the existing id and no new id is spent.
public enum BPETrainer {
    public static func train(corpus: [[UInt8]], vocabularySize: Int, pattern: PreSplitPattern,
                             specialTokens: [String] = []) throws -> BPETrainingResult {
        var specials = [BPETokenizer.endOfText]
        for name in specialTokens where !specials.contains(name) {
            guard !name.isEmpty else { throw TokenizerError.invalidArgument("a special token cannot be empty") }
            specials.append(name)
        }
        guard vocabularySize >= 256 + specials.count else {
            throw TokenizerError.vocabularyTooSmall(requested: vocabularySize, minimum: 256 + specials.count)
        }
        guard vocabularySize <= 1 << 24 else {
            throw TokenizerError.invalidArgument("a vocabulary size of \(vocabularySize) is more than this trainer supports (\(1 << 24))")
        }
        guard corpus.contains(where: { !$0.isEmpty }) else { throw TokenizerError.emptyInput("the training text") }
        let targetOrdinary = vocabularySize - specials.count

        var state = TrainerState()
        for text in corpus { state.addChunks(of: text, pattern: pattern) }
        state.countPairs()
        let tokens = state.runMerges(until: targetOrdinary)
        var specialIDs: [String: Int] = [:]
        for (offset, name) in specials.enumerated() { specialIDs[name] = tokens.count + offset }
        let tokenizer = try BPETokenizer(tokens: tokens, specialTokens: specialIDs, pattern: pattern)
        return BPETrainingResult(tokenizer: tokenizer, mergeCount: tokens.count - 256,
                                 distinctChunks: state.wordCount.count, requestedVocabularySize: vocabularySize)
    }
}

/// A pair's entry in the heap: ordered by count (higher first), then by packed pair (smaller first).
private struct PairEntry {
    var count: Int
    var key: UInt64

    @inline(__always)
    func precedes(_ other: PairEntry) -> Bool { count != other.count ? count > other.count : key < other.key }
}

private struct PairHeap {
    private var entries: [PairEntry] = []

    mutating func push(_ entry: PairEntry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> PairEntry? {
        guard let top = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < entries.count && entries[left].precedes(entries[best]) { best = left }
                if right < entries.count && entries[right].precedes(entries[best]) { best = right }
                if best == parent { break }
                entries.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}

private struct TrainerState {
    let chunks = ByteStringTable(minimumCapacity: 1 << 14)
    /// Each distinct chunk's symbols live in `symbols[wordStart[w] ..< wordStart[w] + wordLength[w]]`.
    var symbols: [Int32] = []
    var wordStart: [Int] = []
    var wordLength: [Int] = []
    var wordCount: [Int] = []
    /// Pair -> dense pair index; per pair: its count, key and the chunks that (may) contain it.
    let pairIndex = PairTable(minimumCapacity: 1 << 14)
    var pairCount: [Int] = []
    var pairKey: [UInt64] = []
    var pairWords: [[Int32]] = []

    mutating func addChunks(of text: [UInt8], pattern: PreSplitPattern) {
        text.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            pattern.split(buffer) { start, end in
                let (word, inserted) = chunks.insert(base + start, end - start)
                if inserted {
                    wordStart.append(symbols.count)
                    wordLength.append(end - start)
                    wordCount.append(1)
                    for index in start..<end { symbols.append(Int32(buffer[index])) }
                } else {
                    wordCount[word] += 1
                }
            }
        }
    }

    @inline(__always)
    mutating func index(of key: UInt64) -> Int {
        if let existing = pairIndex.get(key) { return Int(existing) }
        let index = pairCount.count
        pairIndex.set(key, Int32(index))
        pairCount.append(0)
        pairKey.append(key)
        pairWords.append([])
        return index
    }

    mutating func countPairs() {
        for word in 0..<wordCount.count where wordLength[word] > 1 {
            let start = wordStart[word]
            for position in start..<start + wordLength[word] - 1 {
                let pair = index(of: PairTable.key(symbols[position], symbols[position + 1]))
                pairCount[pair] += wordCount[word]
                if pairWords[pair].last != Int32(word) { pairWords[pair].append(Int32(word)) }
            }
        }
    }

    mutating func runMerges(until targetOrdinary: Int) -> [[UInt8]] {
        var tokens: [[UInt8]] = (0...255).map { [UInt8($0)] }
        let tokenTable = ByteStringTable(minimumCapacity: targetOrdinary)
        for token in tokens { tokenTable.insert(token) }
        var heap = PairHeap()
        for pair in 0..<pairCount.count where pairCount[pair] > 0 {
            heap.push(PairEntry(count: pairCount[pair], key: pairKey[pair]))
        }
        var wordStamp = [Int](repeating: -1, count: wordCount.count)
        var touchedStamp: [Int] = []
        var touched: [Int] = []
        var step = 0
        while tokens.count < targetOrdinary, let top = heap.pop() {
            let pair = Int(pairIndex.get(top.key)!)
            let actual = pairCount[pair]
            if actual != top.count {
                // Counts of old pairs only fall; a pair whose count rose was pushed again when it rose.
                if actual > 0 && actual < top.count { heap.push(PairEntry(count: actual, key: top.key)) }
                continue
            }
            let left = Int32(truncatingIfNeeded: top.key >> 32), right = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            let merged = tokens[Int(left)] + tokens[Int(right)]
            let (existing, inserted) = tokenTable.insert(merged)
            let newID = Int32(existing)
            if inserted { tokens.append(merged) }
            step += 1
            touched.removeAll(keepingCapacity: true)
            let words = pairWords[pair]
            pairWords[pair] = []
            for word32 in words {
                let word = Int(word32)
                guard wordStamp[word] != step else { continue }
                wordStamp[word] = step
                mergeWord(word, left, right, newID, &touched, &touchedStamp, step)
            }
            for touchedPair in touched where pairCount[touchedPair] > 0 {
                heap.push(PairEntry(count: pairCount[touchedPair], key: pairKey[touchedPair]))
            }
        }
        return tokens
    }

    /// Replaces every (left, right) in one chunk by `newID`, left to right, and moves the chunk's weight
    /// from the pairs that disappear to the pairs that appear, looking only at each occurrence's
    /// neighbours: the symbol before (already rewritten) and the symbol after (not yet rewritten).
    /// Pairs that contain `newID` are recorded in `touched`.
    mutating func mergeWord(_ word: Int, _ left: Int32, _ right: Int32, _ newID: Int32,
                            _ touched: inout [Int], _ touchedStamp: inout [Int], _ step: Int) {
        let start = wordStart[word], end = start + wordLength[word]
        let weight = wordCount[word]
        var read = start, write = start
        while read < end {
            guard read + 1 < end && symbols[read] == left && symbols[read + 1] == right else {
                symbols[write] = symbols[read]
                read += 1
                write += 1
                continue
            }
            if write > start {
                let before = symbols[write - 1]
                pairCount[Int(pairIndex.get(PairTable.key(before, left))!)] -= weight
                addPair(before, newID, word, weight, &touched, &touchedStamp, step)
            }
            pairCount[Int(pairIndex.get(PairTable.key(left, right))!)] -= weight
            if read + 2 < end {
                let after = symbols[read + 2]
                pairCount[Int(pairIndex.get(PairTable.key(right, after))!)] -= weight
                // When the next occurrence starts right here, the pair (newID, left) is removed again
                // when that occurrence is merged, as (before, left) above.
                addPair(newID, after, word, weight, &touched, &touchedStamp, step)
            }
            symbols[write] = newID
            write += 1
            read += 2
        }
        wordLength[word] = write - start
    }

    @inline(__always)
    mutating func addPair(_ first: Int32, _ second: Int32, _ word: Int, _ weight: Int,
                          _ touched: inout [Int], _ touchedStamp: inout [Int], _ step: Int) {
        let pair = index(of: PairTable.key(first, second))
        pairCount[pair] += weight
        if pairWords[pair].last != Int32(word) { pairWords[pair].append(Int32(word)) }
        if touchedStamp.count <= pair { touchedStamp.append(contentsOf: repeatElement(-1, count: pair + 1 - touchedStamp.count)) }
        if touchedStamp[pair] != step {
            touchedStamp[pair] = step
            touched.append(pair)
        }
    }
}
