import Foundation

/// Byte-level BPE with tiktoken's semantics: a vocabulary of byte strings whose id is also its merge
/// rank, a pre-split pattern, and special tokens numbered after the ordinary ones.
///
/// Encoding a chunk starts from one token per byte and repeatedly merges the adjacent pair whose
/// concatenation is the token with the lowest id, taking the leftmost pair when the same lowest id occurs
/// more than once, until no adjacent pair forms a token. This is exactly tiktoken's `_byte_pair_merge`, so
/// with GPT-2's vocabulary the ids equal tiktoken's `gpt2` encoding.
///
/// Special tokens: `encode(_:)` treats every byte of the input as ordinary text, so `"<|endoftext|>"`
/// typed by a user becomes the ids of `<|`, `endoftext`, `|>`. A caller that wants special tokens
/// recognised names them in `encode(_:allowedSpecial:)`.
public struct BPETokenizer: Tokenizer, Equatable {
    public static let formatName = "minigpt-bpe-tokenizer"
    public static let formatVersion = 1
    public static let endOfText = "<|endoftext|>"

    /// The ordinary tokens: `tokens[id]` is the byte string of token `id` (its merge rank).
    public let tokens: [[UInt8]]
    /// Special tokens and their ids, which are `tokens.count ..< tokens.count + specialTokens.count`.
    public let specialTokens: [String: Int]
    public let pattern: PreSplitPattern
    let tables: BPETables

    /// Checks that the vocabulary is usable: every single byte is a token (so any input can be encoded),
    /// no token is empty or repeated, and the special ids continue the ordinary ids without gaps.
    public init(tokens: [[UInt8]], specialTokens: [String: Int], pattern: PreSplitPattern) throws {
        guard tokens.count >= 256 else {
            throw TokenizerError.inconsistentVocabulary("\(tokens.count) ordinary tokens, fewer than the 256 single bytes")
        }
        guard tokens.count + specialTokens.count <= Int(Int32.max) else {
            throw TokenizerError.inconsistentVocabulary("\(tokens.count + specialTokens.count) tokens is more than 2^31 - 1")
        }
        var seenSpecialIDs = Set<Int>()
        for (name, id) in specialTokens {
            guard !name.isEmpty else { throw TokenizerError.inconsistentVocabulary("a special token has an empty name") }
            guard id >= tokens.count && id < tokens.count + specialTokens.count else {
                throw TokenizerError.inconsistentVocabulary(
                    "special token \(name.debugDescription) has id \(id); special ids must be \(tokens.count)..<\(tokens.count + specialTokens.count)")
            }
            guard seenSpecialIDs.insert(id).inserted else {
                throw TokenizerError.inconsistentVocabulary("two special tokens share id \(id)")
            }
        }
        self.tables = try BPETables(tokens: tokens, specialTokens: specialTokens)
        self.tokens = tokens
        self.specialTokens = specialTokens
        self.pattern = pattern
    }

    public static func == (lhs: BPETokenizer, rhs: BPETokenizer) -> Bool {
        lhs.pattern == rhs.pattern && lhs.specialTokens == rhs.specialTokens && lhs.tokens == rhs.tokens
    }

    public var vocabularySize: Int { tokens.count + specialTokens.count }
    public var endOfTextID: Int? { specialTokens[Self.endOfText] }

    /// The byte string of any id, special or not.
    public func tokenBytes(_ id: Int) throws -> [UInt8] {
        guard id >= 0 && id < vocabularySize else { throw TokenizerError.idOutOfRange(id, vocabularySize: vocabularySize) }
        return Array(tables.bytes(of: id))
    }

    // MARK: Encoding

    /// Encodes text as ordinary text: special-token text in it is not recognised (see the type's comment).
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { encodeOrdinary($0) }
    }

    /// Encodes arbitrary bytes, valid UTF-8 or not; `decodeBytes(encode(bytes:))` returns them unchanged.
    public func encode(bytes: [UInt8]) -> [Int] {
        bytes.withUnsafeBufferPointer { encodeOrdinary($0) }
    }

    /// Encodes bytes as ordinary text (the entry point for callers that already hold a buffer).
    public func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(bytes.count / 3 + 1)
        let cache = bytes.count >= 4096 ? EncodeCache() : nil
        tables.encode(bytes, pattern: pattern, cache: cache, into: &ids)
        return ids
    }

    /// Encodes text, turning occurrences of the named special tokens into their ids. Every name must be a
    /// special token of this tokenizer. Where two allowed specials could start at the same place, the
    /// longer one wins.
    public func encode(_ text: String, allowedSpecial: Set<String>) throws -> [Int] {
        for name in allowedSpecial where specialTokens[name] == nil { throw TokenizerError.unknownSpecialToken(name) }
        if allowedSpecial.isEmpty { return encode(text) }
        let specials = allowedSpecial.map { (bytes: Array($0.utf8), id: specialTokens[$0]!) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        var firstBytes = [Bool](repeating: false, count: 256)
        for special in specials { firstBytes[Int(special.bytes[0])] = true }
        var text = text
        return text.withUTF8 { buffer in
            var ids: [Int] = []
            let cache = buffer.count >= 4096 ? EncodeCache() : nil
            var segmentStart = 0
            var index = 0
            while index < buffer.count {
                if firstBytes[Int(buffer[index])],
                   let special = specials.first(where: { matches($0.bytes, buffer, at: index) }) {
                    tables.encode(UnsafeBufferPointer(rebasing: buffer[segmentStart..<index]), pattern: pattern, cache: cache, into: &ids)
                    ids.append(special.id)
                    index += special.bytes.count
                    segmentStart = index
                } else {
                    index += 1
                }
            }
            tables.encode(UnsafeBufferPointer(rebasing: buffer[segmentStart..<buffer.count]), pattern: pattern, cache: cache, into: &ids)
            return ids
        }
    }

    private func matches(_ needle: [UInt8], _ haystack: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard index + needle.count <= haystack.count else { return false }
        for offset in 0..<needle.count where haystack[index + offset] != needle[offset] { return false }
        return true
    }

    // MARK: Decoding

    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0 && id < vocabularySize else { throw TokenizerError.idOutOfRange(id, vocabularySize: vocabularySize) }
            bytes.append(contentsOf: tables.bytes(of: id))
        }
        return bytes
    }
}

/// Remembers the ids of multi-token chunks during one encode call (text repeats its words).
final class EncodeCache {
    let chunks = ByteStringTable(minimumCapacity: 4096)
    var starts: [Int32] = [0]
    var ids: [Int32] = []
    static let maxEntries = 1 << 20
    static let maxChunkLength = 256
}

/// The lookup structures behind a `BPETokenizer`; immutable after `init`, so sharing them is safe.
final class BPETables: @unchecked Sendable {
    let ordinaryCount: Int
    /// Token bytes -> id (table index == id, tokens inserted in id order).
    let tokenTable: ByteStringTable
    /// (left id, right id) -> id of the token their concatenation forms, for every split of every token.
    let mergeTable: PairTable
    /// Id of each single-byte token.
    let byteToken: [Int32]
    let maxTokenLength: Int
    /// All tokens' bytes (special ones too), `offsets[id] ..< offsets[id + 1]`.
    let decodeArena: [UInt8]
    let offsets: [Int]

    init(tokens: [[UInt8]], specialTokens: [String: Int]) throws {
        ordinaryCount = tokens.count
        let table = ByteStringTable(minimumCapacity: tokens.count)
        var byteToken = [Int32](repeating: -1, count: 256)
        var longest = 1
        for (id, token) in tokens.enumerated() {
            guard !token.isEmpty else { throw TokenizerError.inconsistentVocabulary("token \(id) is empty") }
            let (index, inserted) = table.insert(token)
            guard inserted else {
                throw TokenizerError.inconsistentVocabulary("tokens \(index) and \(id) are the same bytes \(token)")
            }
            if token.count == 1 { byteToken[Int(token[0])] = Int32(id) }
            longest = max(longest, token.count)
        }
        if let missing = byteToken.firstIndex(of: -1) {
            throw TokenizerError.inconsistentVocabulary(
                String(format: "byte 0x%02X has no token of its own; a byte-level BPE needs all 256", missing))
        }
        let merges = PairTable(minimumCapacity: tokens.count * 2)
        for (id, token) in tokens.enumerated() where token.count > 1 {
            token.withUnsafeBufferPointer { bytes in
                for split in 1..<bytes.count {
                    guard let left = table.find(bytes.baseAddress!, split),
                          let right = table.find(bytes.baseAddress! + split, bytes.count - split) else { continue }
                    merges.set(PairTable.key(Int32(left), Int32(right)), Int32(id))
                }
            }
        }
        var arena: [UInt8] = []
        var offsets: [Int] = [0]
        for token in tokens {
            arena.append(contentsOf: token)
            offsets.append(arena.count)
        }
        for (name, _) in specialTokens.sorted(by: { $0.value < $1.value }) {
            arena.append(contentsOf: Array(name.utf8))
            offsets.append(arena.count)
        }
        self.tokenTable = table
        self.mergeTable = merges
        self.byteToken = byteToken
        self.maxTokenLength = longest
        self.decodeArena = arena
        self.offsets = offsets
    }

    @inline(__always)
    func bytes(of id: Int) -> ArraySlice<UInt8> { decodeArena[offsets[id] ..< offsets[id + 1]] }

    func encode(_ bytes: UnsafeBufferPointer<UInt8>, pattern: PreSplitPattern, cache: EncodeCache?, into ids: inout [Int]) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let vocabulary = tokenTable.lookup()
        let merges = mergeTable.lookup()
        let maxTokenLength = self.maxTokenLength
        byteToken.withUnsafeBufferPointer { byteToken in
            pattern.split(bytes) { start, end in
                let length = end - start
                let chunk = base + start
                if length <= maxTokenLength, let id = vocabulary.find(chunk, length) {
                    ids.append(id)
                    return
                }
                guard let cache, length <= EncodeCache.maxChunkLength, cache.chunks.count < EncodeCache.maxEntries else {
                    Self.mergeChunk(chunk, length, merges, byteToken, into: &ids)
                    return
                }
                let (entry, inserted) = cache.chunks.insert(chunk, length)
                if !inserted {
                    let from = Int(cache.starts[entry]), to = Int(cache.starts[entry + 1])
                    for index in from..<to { ids.append(Int(cache.ids[index])) }
                    return
                }
                let first = ids.count
                Self.mergeChunk(chunk, length, merges, byteToken, into: &ids)
                for index in first..<ids.count { cache.ids.append(Int32(ids[index])) }
                cache.starts.append(Int32(cache.ids.count))
            }
        }
    }

    /// Runs the merges on one chunk and appends its ids.
    @inline(__always)
    static func mergeChunk(_ chunk: UnsafePointer<UInt8>, _ length: Int, _ merges: PairLookup,
                           _ byteToken: UnsafeBufferPointer<Int32>, into ids: inout [Int]) {
        if length > 128 {
            mergeLongChunk(chunk, length, merges, byteToken, into: &ids)
            return
        }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * length) { scratch in
            let parts = scratch.baseAddress!
            let ranks = parts + length
            for index in 0..<length { parts[index] = byteToken[Int(chunk[index])] }
            var count = length
            // ranks[i] is the id formed by parts[i] and parts[i + 1], or Int32.max when they form none.
            for index in 0..<count - 1 { ranks[index] = merges.get(parts[index], parts[index + 1]) }
            while count > 1 {
                var best = Int32.max
                var at = -1
                for index in 0..<count - 1 where ranks[index] < best {
                    best = ranks[index]
                    at = index
                }
                if at < 0 { break }
                parts[at] = best
                // Remove parts[at + 1] and the pair rank that started there.
                var index = at + 1
                while index < count - 1 {
                    parts[index] = parts[index + 1]
                    ranks[index] = ranks[index + 1]
                    index += 1
                }
                count -= 1
                if at > 0 { ranks[at - 1] = merges.get(parts[at - 1], parts[at]) }
                if at < count - 1 { ranks[at] = merges.get(parts[at], parts[at + 1]) }
            }
            for index in 0..<count { ids.append(Int(parts[index])) }
        }
    }

    /// The same merges for long chunks in O(n log n): a doubly linked list of parts and a min-heap of
    /// (rank, position) with stale entries skipped, so the leftmost lowest-ranked pair is merged first.
    static func mergeLongChunk(_ chunk: UnsafePointer<UInt8>, _ length: Int, _ merges: PairLookup,
                               _ byteToken: UnsafeBufferPointer<Int32>, into ids: inout [Int]) {
        var parts = (0..<length).map { byteToken[Int(chunk[$0])] }
        var next = Array(1...length)       // next[i] == length: no right neighbour
        var previous = Array(-1..<length - 1)
        var alive = [Bool](repeating: true, count: length)
        var heap = MinHeap()
        for index in 0..<length - 1 {
            let rank = merges.get(parts[index], parts[index + 1])
            if rank != Int32.max { heap.push(rank: rank, position: Int32(index)) }
        }
        while let (rank, position32) = heap.pop() {
            let position = Int(position32)
            guard alive[position], next[position] < length else { continue }
            let right = next[position]
            guard merges.get(parts[position], parts[right]) == rank else { continue }
            parts[position] = rank
            alive[right] = false
            next[position] = next[right]
            if next[right] < length { previous[next[right]] = position }
            if previous[position] >= 0 {
                let left = previous[position]
                let leftRank = merges.get(parts[left], parts[position])
                if leftRank != Int32.max { heap.push(rank: leftRank, position: Int32(left)) }
            }
            if next[position] < length {
                let rightRank = merges.get(parts[position], parts[next[position]])
                if rightRank != Int32.max { heap.push(rank: rightRank, position: Int32(position)) }
            }
        }
        var index = 0
        while index < length {
            ids.append(Int(parts[index]))
            index = next[index]
        }
    }
}

/// A binary min-heap of (rank, position) ordered by rank, then position.
struct MinHeap {
    private var keys: [UInt64] = []

    mutating func push(rank: Int32, position: Int32) {
        keys.append(UInt64(UInt32(rank)) << 32 | UInt64(UInt32(position)))
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] < keys[parent] else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Int32, Int32)? {
        guard let top = keys.first else { return nil }
        let last = keys.removeLast()
        if !keys.isEmpty {
            keys[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < keys.count && keys[left] < keys[smallest] { smallest = left }
                if right < keys.count && keys[right] < keys[smallest] { smallest = right }
                if smallest == parent { break }
                keys.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int32(truncatingIfNeeded: top & 0xFFFF_FFFF))
    }
}
