import Core
import Foundation

/// Turns one row of next-token logits into a token id. The controls run in this fixed order, modelled on
/// llama.cpp's default chain (penalties -> top-k -> top-p -> min-p -> temperature -> dist):
///
/// 1. Penalties over the last `penaltyLastN` entries of `recentTokens`. For each distinct token t seen
///    `count` times in that window: repetition penalty first (`logit /= r` if `logit > 0`, else
///    `logit *= r`), then `logit -= count * frequencyPenalty + presencePenalty`.
/// 2. Logit bias: `logit += logitBias[t]`. A bias of `-inf` bans t.
///    With temperature 0 the sampler stops here and returns the argmax (ties -> lowest id); top-k, top-p and
///    min-p can never remove the argmax, so they would not change the answer.
/// 3. Candidates: every token whose logit is now greater than `-inf` (NaN logits count as banned).
///    Candidates are ranked by logit, ties broken by the lower id.
/// 4. Top-k: keep the k highest-ranked candidates (when k > 0 and fewer than the candidates).
/// 5. Top-p: with `p_i = softmax(logits)` over the candidates that survived step 4 (temperature 1), keep the
///    smallest prefix of the ranking whose cumulative probability is >= topP; at least one token is kept.
/// 6. Min-p: with `p_i` the softmax over the survivors of step 5, keep tokens with `p_i >= minP * p_max`,
///    evaluated as `logit_i - logit_max >= ln(minP)`. (Renormalising does not change `p_i / p_max`.)
/// 7. Temperature and draw: the survivors get probabilities `softmax(logit / temperature)` and one uniform
///    `nextDouble()` from the seeded generator picks the first survivor (in the order left by the filters)
///    whose cumulative probability exceeds it.
///
/// The hot path does not allocate once the scratch buffers have grown to the vocabulary size: the working
/// logits, candidate ids, occurrence counts and cumulative weights live in buffers the sampler keeps between calls.
/// Top-k keeps a size-k min-heap while scanning (O(V) for small k) and top-p finds its boundary by
/// quickselect (expected O(V)); neither sorts the whole vocabulary.
/// A copy of a `Sampler` gets its own scratch on its first draw, so copies are independent.
public struct Sampler: Sendable {
    public let config: SamplingConfig
    public var generator: SeededGenerator
    private var scratch: SamplerScratch

    /// Validates `config` and seeds a generator from `config.seed` unless one is passed in.
    public init(config: SamplingConfig, generator: SeededGenerator? = nil) throws {
        try config.validate()
        self.config = config
        self.generator = generator ?? SeededGenerator(seed: config.seed)
        self.scratch = SamplerScratch(capacity: 0)
    }

    /// Draws the next token from `logits` (one entry per vocabulary id); `recentTokens` is the context so far,
    /// oldest first, of which the penalties look at the last `penaltyLastN`.
    /// Throws `GenerationError.samplingFailed` when there are no logits, a recent or biased token id is outside
    /// the vocabulary, or no token is left (every logit `-inf`/NaN after penalties and bias).
    public mutating func sample(logits: UnsafeBufferPointer<Float>, recentTokens: some Collection<Int>) throws -> Int {
        let scratch = try prepareScratch(vocabularySize: logits.count)
        if let greedy = try scratch.filter(logits: logits, recentTokens: recentTokens, config: config) {
            return greedy
        }
        return scratch.draw(uniform: generator.nextDouble())
    }

    public mutating func sample(logits: [Float], recentTokens: some Collection<Int>) throws -> Int {
        try logits.withUnsafeBufferPointer { try sample(logits: $0, recentTokens: recentTokens) }
    }

    /// The distribution step 7 draws from, as one probability per vocabulary id (0 for filtered tokens);
    /// with temperature 0 it is one-hot on the greedy choice. Allocates its result: meant for tests,
    /// inspection and `--show-probabilities` style output, not for the generation loop. Draws nothing.
    public mutating func probabilities(logits: [Float], recentTokens: some Collection<Int>) throws -> [Float] {
        let scratch = try prepareScratch(vocabularySize: logits.count)
        var result = [Float](repeating: 0, count: logits.count)
        let greedy = try logits.withUnsafeBufferPointer {
            try scratch.filter(logits: $0, recentTokens: recentTokens, config: config)
        }
        if let greedy {
            result[greedy] = 1
            return result
        }
        let total = scratch.computeWeights()
        for j in 0..<scratch.candidateCount {
            let below = j == 0 ? 0 : scratch.cumulative[j - 1]
            result[Int(scratch.ids[j])] = Float((scratch.cumulative[j] - below) / total)
        }
        return result
    }

    /// The logits after steps 1 and 2 (penalties, then bias), for tests and inspection. Allocates.
    public mutating func adjustedLogits(logits: [Float], recentTokens: some Collection<Int>) throws -> [Float] {
        let scratch = try prepareScratch(vocabularySize: logits.count)
        try logits.withUnsafeBufferPointer { try scratch.adjust(logits: $0, recentTokens: recentTokens, config: config) }
        return Array(UnsafeBufferPointer(start: scratch.logits, count: logits.count))
    }

    /// Returns scratch this sampler owns alone, grown to at least `vocabularySize` entries.
    private mutating func prepareScratch(vocabularySize: Int) throws -> SamplerScratch {
        guard vocabularySize > 0 else { throw GenerationError.samplingFailed("the sampler needs at least one logit") }
        if !isKnownUniquelyReferenced(&scratch) || scratch.capacity < vocabularySize {
            scratch = SamplerScratch(capacity: max(vocabularySize, scratch.capacity))
        }
        return scratch
    }
}

/// Buffers reused by every draw. Shared between copies of a `Sampler` only until one of them draws
/// (`prepareScratch` replaces scratch that is not uniquely referenced), which is what makes this Sendable.
private final class SamplerScratch: @unchecked Sendable {
    let capacity: Int
    let logits: UnsafeMutablePointer<Float>   // (V) logits after penalties and bias
    let ids: UnsafeMutablePointer<Int32>      // (V) candidate ids; the first `candidateCount` are live
    let spare: UnsafeMutablePointer<Int32>    // (V) room for the top-k heap (k <= V)
    let counts: UnsafeMutablePointer<Int32>   // (V) occurrences in the penalty window; all zero between calls
    let cumulative: UnsafeMutablePointer<Double>  // (V) running sum of the live candidates' unnormalised probabilities
    let weights: UnsafeMutablePointer<Float>  // (V) exp(logit - max) by token id, for top-p
    var candidateCount = 0
    var vocabularySize = 0
    var temperature: Float = 1  // of the last `filter` call
    var maxLogit: Float = 0     // largest candidate logit; every filter keeps that token, so it stays valid

    init(capacity: Int) {
        self.capacity = capacity
        let size = max(capacity, 1)
        logits = .allocate(capacity: size)
        ids = .allocate(capacity: size)
        spare = .allocate(capacity: size)
        counts = .allocate(capacity: size)
        counts.initialize(repeating: 0, count: size)
        cumulative = .allocate(capacity: size)
        weights = .allocate(capacity: size)
    }

    deinit {
        logits.deallocate()
        ids.deallocate()
        spare.deallocate()
        counts.deallocate()
        cumulative.deallocate()
        weights.deallocate()
    }

    static let everyTokenBanned = GenerationError.samplingFailed(
        "every token is banned: all logits are -inf or NaN after the penalties and logit bias")

    // MARK: Steps 1-2

    /// Copies `input` into `logits` and applies the penalties and the logit bias.
    func adjust(logits input: UnsafeBufferPointer<Float>, recentTokens: some Collection<Int>, config: SamplingConfig) throws {
        let vocab = input.count
        if let token = config.logitBias.keys.first(where: { $0 < 0 || $0 >= vocab }) {
            throw GenerationError.samplingFailed("logit bias token \(token) is outside the vocabulary of \(vocab)")
        }
        vocabularySize = vocab
        logits.update(from: input.baseAddress!, count: vocab)
        if config.usesPenalties {
            let window = recentTokens.suffix(config.penaltyLastN)
            if let token = window.first(where: { $0 < 0 || $0 >= vocab }) {
                throw GenerationError.samplingFailed("recent token \(token) is outside the vocabulary of \(vocab)")
            }
            for token in window { counts[token] += 1 }
            for token in window where counts[token] > 0 {
                let count = Float(counts[token])
                counts[token] = 0  // each distinct token is penalised once, and the counts end all zero
                var logit = logits[token]
                logit = logit > 0 ? logit / config.repetitionPenalty : logit * config.repetitionPenalty
                logit -= count * config.frequencyPenalty + config.presencePenalty
                logits[token] = logit
            }
        }
        for (token, bias) in config.logitBias {
            logits[token] += bias
        }
    }

    // MARK: Steps 3-6

    /// Runs steps 1-6. Returns the token at once for greedy sampling; otherwise leaves the survivors in
    /// `ids[0..<candidateCount]` and returns nil.
    func filter(logits input: UnsafeBufferPointer<Float>, recentTokens: some Collection<Int>, config: SamplingConfig) throws -> Int? {
        try adjust(logits: input, recentTokens: recentTokens, config: config)
        let vocab = vocabularySize
        temperature = config.temperature
        if temperature == 0 { return try argmax() }

        var count = 0
        var best = -Float.infinity
        for i in 0..<vocab where logits[i] > -Float.infinity {
            ids[count] = Int32(i)
            count += 1
            best = max(best, logits[i])
        }
        maxLogit = best
        guard count > 0 else { throw SamplerScratch.everyTokenBanned }
        guard best.isFinite else {
            throw GenerationError.samplingFailed("a logit is +inf after the penalties and logit bias: the sampler cannot weigh it")
        }
        candidateCount = count
        var ranked = false  // whether ids[0..<candidateCount] is in rank order

        if config.topK > 0 && config.topK < candidateCount {
            selectTop(count: config.topK)
            ranked = true
        }
        if config.topP < 1 {
            keepNucleus(topP: Double(config.topP), ranked: ranked)
        }
        if config.minP > 0 {
            keepAboveMinP(config.minP)
        }
        return nil
    }

    /// Lowest id among the largest logits; NaN never wins.
    private func argmax() throws -> Int {
        var best = -1
        var bestLogit = -Float.infinity
        for i in 0..<vocabularySize where logits[i] > bestLogit {
            best = i
            bestLogit = logits[i]
        }
        guard best >= 0 else { throw SamplerScratch.everyTokenBanned }
        return best
    }

    /// Moves the `count` highest-ranked candidates, in rank order, to the front of `ids`.
    /// A min-heap of the best `count` seen so far sits in `spare`; most candidates are rejected by one
    /// comparison with its root, so this is O(V) plus O(log k) per replacement, not a full sort.
    private func selectTop(count: Int) {
        spare.update(from: ids, count: count)
        var best = WorstFirstHeap(ids: spare, count: count, logits: logits)
        var worstKept = best.root
        for j in count..<candidateCount {
            let id = ids[j]
            if ranksBefore(id, worstKept, logits) {
                best.replaceRoot(with: id)
                worstKept = best.root
            }
        }
        var slot = count - 1
        while !best.isEmpty {  // the min-heap yields the kept candidates worst first
            ids[slot] = best.popRoot()
            slot -= 1
        }
        candidateCount = count
    }

    /// Keeps the smallest rank-ordered prefix whose softmax mass is >= `topP` (at least one token).
    /// Ranked candidates (after top-k) are walked in order. Otherwise a quickselect on rank finds the
    /// prefix without sorting: partition around a pivot, then continue in the part that holds the
    /// boundary, expected O(V). The kept candidates end up in `ids[0..<candidateCount]` in no particular order.
    private func keepNucleus(topP: Double, ranked: Bool) {
        var total = 0.0
        for j in 0..<candidateCount {
            let id = ids[j]
            let weight = expf(logits[Int(id)] - maxLogit)
            weights[Int(id)] = weight
            total += Double(weight)
        }
        let target = topP * total
        if ranked {
            candidateCount = keptByWalking(from: 0, to: candidateCount, needing: target)
            return
        }
        var low = 0, high = candidateCount  // undecided: ids[low..<high]; ids[0..<low] are kept
        var needed = target                 // mass the undecided part still has to supply
        while high - low > 16 {
            let split = partition(low, high)
            let pivot = ids[split.pivotIndex]
            if split.massBefore >= needed {
                high = split.pivotIndex
            } else if split.massBefore + Double(weights[Int(pivot)]) >= needed {
                candidateCount = split.pivotIndex + 1
                return
            } else {
                needed -= split.massBefore + Double(weights[Int(pivot)])
                low = split.pivotIndex + 1
            }
        }
        insertionSortByRank(low, high)
        candidateCount = keptByWalking(from: low, to: high, needing: needed)
    }

    /// Walks rank-ordered `ids[start..<end]` until `needed` mass is reached; returns the end of the kept part.
    private func keptByWalking(from start: Int, to end: Int, needing needed: Double) -> Int {
        var mass = 0.0
        var index = start
        while index < end {
            mass += Double(weights[Int(ids[index])])
            index += 1
            if mass >= needed { break }
        }
        return max(index, 1)  // rounding can leave `needed` unreached; then the whole part is kept
    }

    /// Lomuto partition of `ids[low..<high]` around the median of three by rank: higher-ranked candidates
    /// first, then the pivot. Returns the pivot's index and the weight of the candidates before it.
    private func partition(_ low: Int, _ high: Int) -> (pivotIndex: Int, massBefore: Double) {
        let middle = (low + high) / 2, last = high - 1
        // Order ids[low], ids[middle], ids[last] by rank so the median lands in the middle, then park it at the end.
        if ranksBefore(ids[middle], ids[low], logits) { ids.swapAt(low, middle) }
        if ranksBefore(ids[last], ids[low], logits) { ids.swapAt(low, last) }
        if ranksBefore(ids[last], ids[middle], logits) { ids.swapAt(middle, last) }
        ids.swapAt(middle, last)
        let pivot = ids[last]
        var store = low
        var mass = 0.0
        for j in low..<last where ranksBefore(ids[j], pivot, logits) {
            ids.swapAt(store, j)
            mass += Double(weights[Int(ids[store])])
            store += 1
        }
        ids.swapAt(store, last)
        return (store, mass)
    }

    private func insertionSortByRank(_ low: Int, _ high: Int) {
        guard high - low > 1 else { return }
        for i in (low + 1)..<high {
            let item = ids[i]
            var j = i
            while j > low && ranksBefore(item, ids[j - 1], logits) {
                ids[j] = ids[j - 1]
                j -= 1
            }
            ids[j] = item
        }
    }

    /// Keeps candidates with `p >= minP * p_max`, preserving their order.
    private func keepAboveMinP(_ minP: Float) {
        let threshold = logf(minP)
        var kept = 0
        for j in 0..<candidateCount where logits[Int(ids[j])] - maxLogit >= threshold {
            ids[kept] = ids[j]
            kept += 1
        }
        candidateCount = kept  // never 0: the maximum passes because 0 >= ln(minP) for minP <= 1
    }

    // MARK: Step 7

    /// Fills `cumulative[j]` with the running sum of `exp((logit - max) / temperature)` over the live
    /// candidates; returns the total.
    func computeWeights() -> Double {
        let inverse = 1 / temperature
        var total = 0.0
        for j in 0..<candidateCount {
            total += Double(expf((logits[Int(ids[j])] - maxLogit) * inverse))
            cumulative[j] = total
        }
        return total
    }

    /// Picks the first candidate whose cumulative weight exceeds `uniform * total` (binary search).
    func draw(uniform: Double) -> Int {
        let total = computeWeights()
        // Clamped below the total so rounding in `uniform * total` can never step past the last positive
        // weight; the first index above the target then always adds a positive weight.
        let target = min(uniform * total, total.nextDown)
        var low = 0, high = candidateCount - 1  // the answer is in low...high
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return Int(ids[low])
    }
}

/// True when candidate `a` ranks before candidate `b`: higher logit, ties going to the lower id.
/// A strict total order over distinct ids, so every selection below is deterministic.
@inline(__always)
private func ranksBefore(_ a: Int32, _ b: Int32, _ logits: UnsafeMutablePointer<Float>) -> Bool {
    let la = logits[Int(a)], lb = logits[Int(b)]
    return la > lb || (la == lb && a < b)
}

extension UnsafeMutablePointer where Pointee == Int32 {
    fileprivate func swapAt(_ i: Int, _ j: Int) {
        let item = self[i]
        self[i] = self[j]
        self[j] = item
    }
}

/// A binary min-heap by rank built in place over `ids[0..<count]`: the root is the lowest-ranked candidate.
private struct WorstFirstHeap {
    let ids: UnsafeMutablePointer<Int32>
    private(set) var count: Int
    let logits: UnsafeMutablePointer<Float>

    init(ids: UnsafeMutablePointer<Int32>, count: Int, logits: UnsafeMutablePointer<Float>) {
        self.ids = ids
        self.count = count
        self.logits = logits
        var start = count / 2 - 1
        while start >= 0 {
            siftDown(start)
            start -= 1
        }
    }

    var isEmpty: Bool { count == 0 }
    var root: Int32 { ids[0] }

    mutating func popRoot() -> Int32 {
        let first = ids[0]
        count -= 1
        ids[0] = ids[count]
        siftDown(0)
        return first
    }

    /// Puts `id` in place of the root and restores the heap.
    func replaceRoot(with id: Int32) {
        ids[0] = id
        siftDown(0)
    }

    private func siftDown(_ start: Int) {
        var parent = start
        let item = ids[parent]
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count && ranksBefore(ids[child], ids[child + 1], logits) { child += 1 }
            if !ranksBefore(item, ids[child], logits) { break }
            ids[parent] = ids[child]
            parent = child
        }
        ids[parent] = item
    }
}
