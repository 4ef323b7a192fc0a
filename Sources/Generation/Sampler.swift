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
///    `nextDouble()` from the seeded generator picks a token by walking the survivors' cumulative sum.
///
/// The hot path does not allocate once the scratch buffers have grown to the vocabulary size: the working
/// logits, candidate ids, occurrence counts and weights live in buffers the sampler keeps between calls, and
/// top-k / top-p select through a binary heap (O(V + k log V)) instead of sorting the whole vocabulary.
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
    /// Precondition: at least one logit is not `-inf`/NaN after penalties and bias, and every recent token
    /// and biased token id is inside the vocabulary (`SamplingConfig.validate(vocabularySize:)` checks the bias).
    public mutating func sample(logits: UnsafeBufferPointer<Float>, recentTokens: some Collection<Int>) -> Int {
        let scratch = prepareScratch(vocabularySize: logits.count)
        if let greedy = scratch.filter(logits: logits, recentTokens: recentTokens, config: config) {
            return greedy
        }
        return scratch.draw(uniform: generator.nextDouble())
    }

    public mutating func sample(logits: [Float], recentTokens: some Collection<Int>) -> Int {
        logits.withUnsafeBufferPointer { sample(logits: $0, recentTokens: recentTokens) }
    }

    /// The distribution step 7 draws from, as one probability per vocabulary id (0 for filtered tokens);
    /// with temperature 0 it is one-hot on the greedy choice. Allocates its result: meant for tests,
    /// inspection and `--show-probabilities` style output, not for the generation loop. Draws nothing.
    public mutating func probabilities(logits: [Float], recentTokens: some Collection<Int>) -> [Float] {
        let scratch = prepareScratch(vocabularySize: logits.count)
        var result = [Float](repeating: 0, count: logits.count)
        let greedy = logits.withUnsafeBufferPointer {
            scratch.filter(logits: $0, recentTokens: recentTokens, config: config)
        }
        if let greedy {
            result[greedy] = 1
            return result
        }
        let total = scratch.computeWeights()
        for j in 0..<scratch.candidateCount {
            result[Int(scratch.ids[j])] = Float(Double(scratch.weights[j]) / total)
        }
        return result
    }

    /// The logits after steps 1 and 2 (penalties, then bias), for tests and inspection. Allocates.
    public mutating func adjustedLogits(logits: [Float], recentTokens: some Collection<Int>) -> [Float] {
        let scratch = prepareScratch(vocabularySize: logits.count)
        logits.withUnsafeBufferPointer { scratch.adjust(logits: $0, recentTokens: recentTokens, config: config) }
        return Array(UnsafeBufferPointer(start: scratch.logits, count: logits.count))
    }

    /// Returns scratch this sampler owns alone, grown to at least `vocabularySize` entries.
    private mutating func prepareScratch(vocabularySize: Int) -> SamplerScratch {
        precondition(vocabularySize > 0, "the sampler needs at least one logit")
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
    var ids: UnsafeMutablePointer<Int32>      // (V) candidate ids; the first `candidateCount` are live
    var spare: UnsafeMutablePointer<Int32>    // (V) output of heap selection, swapped with `ids`
    let counts: UnsafeMutablePointer<Int32>   // (V) occurrences in the penalty window; all zero between calls
    let weights: UnsafeMutablePointer<Float>  // (V) unnormalised probabilities of the live candidates
    var candidateCount = 0
    var vocabularySize = 0
    var temperature: Float = 1  // of the last `filter` call

    init(capacity: Int) {
        self.capacity = capacity
        let size = max(capacity, 1)
        logits = .allocate(capacity: size)
        ids = .allocate(capacity: size)
        spare = .allocate(capacity: size)
        counts = .allocate(capacity: size)
        counts.initialize(repeating: 0, count: size)
        weights = .allocate(capacity: size)
    }

    deinit {
        logits.deallocate()
        ids.deallocate()
        spare.deallocate()
        counts.deallocate()
        weights.deallocate()
    }

    // MARK: Steps 1-2

    /// Copies `input` into `logits` and applies the penalties and the logit bias.
    func adjust(logits input: UnsafeBufferPointer<Float>, recentTokens: some Collection<Int>, config: SamplingConfig) {
        let vocab = input.count
        vocabularySize = vocab
        logits.update(from: input.baseAddress!, count: vocab)
        if config.usesPenalties {
            let window = recentTokens.suffix(config.penaltyLastN)
            for token in window {
                precondition(token >= 0 && token < vocab, "recent token \(token) is outside the vocabulary of \(vocab)")
                counts[token] += 1
            }
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
            precondition(token >= 0 && token < vocab, "logit bias token \(token) is outside the vocabulary of \(vocab)")
            logits[token] += bias
        }
    }

    // MARK: Steps 3-6

    /// Runs steps 1-6. Returns the token at once for greedy sampling; otherwise leaves the survivors in
    /// `ids[0..<candidateCount]` and returns nil.
    func filter(logits input: UnsafeBufferPointer<Float>, recentTokens: some Collection<Int>, config: SamplingConfig) -> Int? {
        adjust(logits: input, recentTokens: recentTokens, config: config)
        let vocab = vocabularySize
        temperature = config.temperature
        if temperature == 0 { return argmax() }

        var count = 0
        for i in 0..<vocab where logits[i] > -Float.infinity {
            ids[count] = Int32(i)
            count += 1
        }
        precondition(count > 0, "every token is banned: all logits are -inf or NaN after penalties and bias")
        candidateCount = count
        var ranked = false  // whether ids[0..<candidateCount] is in rank order

        if config.topK > 0 && config.topK < candidateCount {
            selectTop(count: config.topK)
            ranked = true
        }
        if config.topP < 1 {
            keepNucleus(topP: Double(config.topP), ranked: ranked)
            ranked = true
        }
        if config.minP > 0 {
            keepAboveMinP(config.minP)
        }
        return nil
    }

    /// Lowest id among the largest logits; NaN never wins.
    private func argmax() -> Int {
        var best = -1
        var bestLogit = -Float.infinity
        for i in 0..<vocabularySize where logits[i] > bestLogit {
            best = i
            bestLogit = logits[i]
        }
        precondition(best >= 0, "every token is banned: all logits are -inf or NaN after penalties and bias")
        return best
    }

    /// Moves the `count` highest-ranked candidates, in rank order, to the front of `ids`.
    private func selectTop(count: Int) {
        var heap = CandidateHeap(ids: ids, count: candidateCount, logits: logits)
        for j in 0..<count { spare[j] = heap.popFirst() }
        swap(&ids, &spare)
        candidateCount = count
    }

    /// Keeps the smallest rank-ordered prefix whose softmax mass is >= `topP` (at least one token).
    private func keepNucleus(topP: Double, ranked: Bool) {
        let maxLogit = ranked ? logits[Int(ids[0])] : maximumCandidateLogit()
        var total = 0.0
        for j in 0..<candidateCount { total += Double(expf(logits[Int(ids[j])] - maxLogit)) }
        let target = topP * total
        var cumulative = 0.0
        if ranked {
            var kept = 0
            while kept < candidateCount {
                cumulative += Double(expf(logits[Int(ids[kept])] - maxLogit))
                kept += 1
                if cumulative >= target { break }
            }
            candidateCount = kept
        } else {
            var heap = CandidateHeap(ids: ids, count: candidateCount, logits: logits)
            var kept = 0
            while !heap.isEmpty {
                let id = heap.popFirst()
                spare[kept] = id
                kept += 1
                cumulative += Double(expf(logits[Int(id)] - maxLogit))
                if cumulative >= target { break }
            }
            swap(&ids, &spare)
            candidateCount = kept
        }
    }

    /// Keeps candidates with `p >= minP * p_max`, preserving their order.
    private func keepAboveMinP(_ minP: Float) {
        let maxLogit = maximumCandidateLogit()
        let threshold = logf(minP)
        var kept = 0
        for j in 0..<candidateCount where logits[Int(ids[j])] - maxLogit >= threshold {
            ids[kept] = ids[j]
            kept += 1
        }
        candidateCount = kept  // never 0: the maximum passes because 0 >= ln(minP) for minP <= 1
    }

    private func maximumCandidateLogit() -> Float {
        var best = -Float.infinity
        for j in 0..<candidateCount { best = max(best, logits[Int(ids[j])]) }
        return best
    }

    // MARK: Step 7

    /// Fills `weights[j] = exp((logit - max) / temperature)` for the live candidates; returns their sum.
    func computeWeights() -> Double {
        let maxLogit = maximumCandidateLogit()
        let inverse = 1 / temperature
        var total = 0.0
        for j in 0..<candidateCount {
            let weight = expf((logits[Int(ids[j])] - maxLogit) * inverse)
            weights[j] = weight
            total += Double(weight)
        }
        return total
    }

    /// Picks the candidate where the cumulative weight first exceeds `uniform * total`.
    func draw(uniform: Double) -> Int {
        let total = computeWeights()
        let target = uniform * total
        var cumulative = 0.0
        var lastPositive = Int(ids[0])
        for j in 0..<candidateCount where weights[j] > 0 {
            cumulative += Double(weights[j])
            lastPositive = Int(ids[j])
            if target < cumulative { return lastPositive }
        }
        return lastPositive  // only reached when rounding leaves target at the very top of the sum
    }
}

/// A binary max-heap of candidate ids built in place over `ids[0..<count]`, ordered by logit with ties
/// going to the lower id, so every pop sequence is deterministic.
private struct CandidateHeap {
    let ids: UnsafeMutablePointer<Int32>
    var count: Int
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

    /// True when candidate `a` ranks before candidate `b`.
    @inline(__always)
    private func ranksBefore(_ a: Int32, _ b: Int32) -> Bool {
        let la = logits[Int(a)], lb = logits[Int(b)]
        return la > lb || (la == lb && a < b)
    }

    mutating func popFirst() -> Int32 {
        let first = ids[0]
        count -= 1
        ids[0] = ids[count]
        siftDown(0)
        return first
    }

    private func siftDown(_ start: Int) {
        var parent = start
        let item = ids[parent]
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count && ranksBefore(ids[child + 1], ids[child]) { child += 1 }
            if !ranksBefore(ids[child], item) { break }
            ids[parent] = ids[child]
            parent = child
        }
        ids[parent] = item
    }
}
