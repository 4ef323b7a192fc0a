import Core
import Generation
import TestSupport
import XCTest

/// The hand-worked example used throughout: five logits whose exponentials are
/// e^2 = 7.389056, e^1 = 2.718282, e^0.5 = 1.648721, e^0 = 1, e^-1 = 0.367879 (sum 13.123938).
private let logits: [Float] = [2.0, 1.0, 0.5, 0.0, -1.0]
private let noHistory: [Int] = []

private func sampler(_ config: SamplingConfig) throws -> Sampler {
    try Sampler(config: config)
}

private func probabilities(_ config: SamplingConfig, _ values: [Float] = logits, recent: [Int] = []) throws -> [Float] {
    var sampler = try Sampler(config: config)
    return try sampler.probabilities(logits: values, recentTokens: recent)
}

final class SamplerTests: XCTestCase {
    // MARK: Plain softmax, temperature

    func testTemperatureOneIsSoftmax() throws {
        // 7.389056 / 13.123938 = 0.563021, 2.718282 / 13.123938 = 0.207124, ...
        let p = try probabilities(SamplingConfig(temperature: 1))
        assertClose(p, [0.563021, 0.207124, 0.125627, 0.076197, 0.028031], absolute: 2e-6, relative: 0)
    }

    func testTemperatureScalesLogitsAfterFiltering() throws {
        // top-k 3 keeps {0, 1, 2}; at T = 0.5 their logits become 4, 2, 1:
        // e^4 = 54.59815, e^2 = 7.389056, e^1 = 2.718282, sum 64.705488.
        let p = try probabilities(SamplingConfig(temperature: 0.5, topK: 3))
        assertClose(p, [0.843795, 0.114195, 0.042010, 0, 0], absolute: 2e-6, relative: 0)
    }

    // MARK: Top-k

    func testTopKKeepsTheKLargest() throws {
        // {0, 1} survive: 7.389056 / 10.107338 = 0.731059 (= sigmoid(1)).
        let p = try probabilities(SamplingConfig(temperature: 1, topK: 2))
        assertClose(p, [0.731059, 0.268941, 0, 0, 0], absolute: 2e-6, relative: 0)
    }

    func testTopKLargerThanVocabularyIsANoOp() throws {
        let p = try probabilities(SamplingConfig(temperature: 1, topK: 50))
        assertClose(p, [0.563021, 0.207124, 0.125627, 0.076197, 0.028031], absolute: 2e-6, relative: 0)
    }

    func testTopKBreaksTiesTowardTheLowerID() throws {
        let p = try probabilities(SamplingConfig(temperature: 1, topK: 1), [1, 3, 3, 0])
        XCTAssertEqual(p, [0, 1, 0, 0])
    }

    // MARK: Top-p

    func testTopPKeepsSmallestPrefixReachingP() throws {
        // Cumulative: 0.563, 0.770, 0.896. 0.770 < 0.8 <= 0.896, so {0, 1, 2} survive:
        // renormalised over 7.389056 + 2.718282 + 1.648721 = 11.756059.
        let p = try probabilities(SamplingConfig(temperature: 1, topP: 0.8))
        assertClose(p, [0.628532, 0.231224, 0.140244, 0, 0], absolute: 2e-6, relative: 0)
    }

    func testTopPAlwaysKeepsAtLeastOneToken() throws {
        // 0.563 >= 0.5 already: only the top token.
        XCTAssertEqual(try probabilities(SamplingConfig(temperature: 1, topP: 0.5)), [1, 0, 0, 0, 0])
        XCTAssertEqual(try probabilities(SamplingConfig(temperature: 1, topP: 0.01)), [1, 0, 0, 0, 0])
    }

    func testTopPIsComputedAtTemperatureOne() throws {
        // At T = 0.5 the top token alone would hold 0.84 >= 0.8; top-p runs before temperature, so it still
        // keeps {0, 1, 2} and temperature then reshapes those three (same numbers as the T = 0.5 test).
        let p = try probabilities(SamplingConfig(temperature: 0.5, topP: 0.8))
        assertClose(p, [0.843795, 0.114195, 0.042010, 0, 0], absolute: 2e-6, relative: 0)
    }

    func testTopPRenormalisesAfterTopK() throws {
        // After top-k 3 the survivors have 0.628532, 0.231224, 0.140244: 0.6285 >= 0.6 keeps only token 0.
        // (Over the full vocabulary token 0 has 0.563 < 0.6, which would keep two tokens.)
        XCTAssertEqual(try probabilities(SamplingConfig(temperature: 1, topK: 3, topP: 0.6)), [1, 0, 0, 0, 0])
    }

    // MARK: Min-p

    func testMinPKeepsTokensAboveFractionOfTheMaximum() throws {
        // p_i / p_max = e^(l_i - 2): 1, 0.368, 0.223, 0.135, 0.050. With min-p 0.1 token 4 goes;
        // renormalised over 7.389056 + 2.718282 + 1.648721 + 1 = 12.756059.
        let p = try probabilities(SamplingConfig(temperature: 1, minP: 0.1))
        assertClose(p, [0.579259, 0.213096, 0.129250, 0.078394, 0], absolute: 2e-6, relative: 0)
        // With min-p 0.3 only 1 and 0.368 pass.
        let q = try probabilities(SamplingConfig(temperature: 1, minP: 0.3))
        assertClose(q, [0.731059, 0.268941, 0, 0, 0], absolute: 2e-6, relative: 0)
    }

    func testMinPOfOneKeepsOnlyTheMaximum() throws {
        XCTAssertEqual(try probabilities(SamplingConfig(temperature: 1, minP: 1)), [1, 0, 0, 0, 0])
    }

    // MARK: Penalties and bias

    func testPenaltiesChangeExactlyTheSeenTokens() throws {
        // Window holds token 0 once, token 2 twice, token 4 three times.
        // Repetition 2: 2 -> 1 (divided), 0.5 -> 0.25 (divided), -1 -> -2 (multiplied).
        // Then minus count * 0.5 + 0.25: token 0: 1 - 0.75 = 0.25; token 2: 0.25 - 1.25 = -1; token 4: -2 - 1.75 = -3.75.
        var s = try sampler(SamplingConfig(repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25))
        let adjusted = try s.adjustedLogits(logits: logits, recentTokens: [0, 2, 4, 2, 4, 4])
        XCTAssertEqual(adjusted, [0.25, 1.0, -1.0, 0.0, -3.75])
    }

    func testPenaltyWindowOnlySeesTheLastNTokens() throws {
        // penaltyLastN 3 sees [4, 4, 4] only: token 4 becomes -1 * 2 - 3 * 0.5 - 0.25 = -3.75.
        var s = try sampler(SamplingConfig(repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25, penaltyLastN: 3))
        XCTAssertEqual(try s.adjustedLogits(logits: logits, recentTokens: [0, 2, 2, 4, 4, 4]), [2.0, 1.0, 0.5, 0.0, -3.75])
        // A window of 0 turns all penalties off.
        var off = try sampler(SamplingConfig(repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25, penaltyLastN: 0))
        XCTAssertEqual(try off.adjustedLogits(logits: logits, recentTokens: [0, 2, 2, 4, 4, 4]), logits)
    }

    func testPenaltiesAreIdempotentAcrossCalls() throws {
        // The occurrence counts are scratch state: a second call must see the same result, not doubled counts.
        var s = try sampler(SamplingConfig(frequencyPenalty: 1))
        let first = try s.adjustedLogits(logits: logits, recentTokens: [1, 1])
        let second = try s.adjustedLogits(logits: logits, recentTokens: [1, 1])
        XCTAssertEqual(first, [2.0, -1.0, 0.5, 0.0, -1.0])
        XCTAssertEqual(second, first)
    }

    func testPenaltiesMoveTheGreedyChoice() throws {
        var plain = try sampler(.greedy)
        XCTAssertEqual(try plain.sample(logits: logits, recentTokens: [0, 0]), 0)
        // Repetition 3: token 0's logit 2 -> 0.667 < 1, so token 1 wins.
        var penalised = try sampler(SamplingConfig(temperature: 0, repetitionPenalty: 3))
        XCTAssertEqual(try penalised.sample(logits: logits, recentTokens: [0, 0]), 1)
    }

    func testLogitBiasAddsAndMinusInfinityBans() throws {
        var s = try sampler(SamplingConfig(logitBias: [0: -.infinity, 3: 1.5]))
        XCTAssertEqual(try s.adjustedLogits(logits: logits, recentTokens: noHistory), [-.infinity, 1.0, 0.5, 1.5, -1.0])
        // Banning token 0 leaves e^1, e^0.5, e^0, e^-1 (sum 5.734883).
        let p = try probabilities(SamplingConfig(temperature: 1, logitBias: [0: -.infinity]))
        assertClose(p, [0, 0.473991, 0.287490, 0.174371, 0.064148], absolute: 2e-6, relative: 0)
        var greedy = try sampler(SamplingConfig(temperature: 0, logitBias: [0: -.infinity]))
        XCTAssertEqual(try greedy.sample(logits: logits, recentTokens: noHistory), 1)
        var drawing = try sampler(SamplingConfig(temperature: 2, logitBias: [0: -.infinity]))
        for _ in 0..<2000 { XCTAssertNotEqual(try drawing.sample(logits: logits, recentTokens: noHistory), 0) }
    }

    func testBiasComesAfterPenalties() throws {
        // Repetition 2 on token 4 (-1 -> -2), then bias +5 gives 3, not (-1 + 5) / 2 = 2.
        var s = try sampler(SamplingConfig(repetitionPenalty: 2, logitBias: [4: 5]))
        XCTAssertEqual(try s.adjustedLogits(logits: logits, recentTokens: [4]), [2.0, 1.0, 0.5, 0.0, 3.0])
    }

    // MARK: Greedy

    func testGreedyIsArgmaxWithTiesToLowestID() throws {
        var s = try sampler(.greedy)
        XCTAssertEqual(try s.sample(logits: logits, recentTokens: noHistory), 0)
        XCTAssertEqual(try s.sample(logits: [1, 3, 3, 0], recentTokens: noHistory), 1)
        XCTAssertEqual(try s.sample(logits: [-5, -4, .nan, -4.5], recentTokens: noHistory), 1)
        XCTAssertEqual(try probabilities(.greedy, [0, 9, 1]), [0, 1, 0])
    }

    // MARK: Nothing to draw

    /// Every way the sampler can be left with no token is a typed error, never a trap.
    func testNoCandidateIsAnError() throws {
        let banAll = Dictionary(uniqueKeysWithValues: (0..<5).map { ($0, -Float.infinity) })
        for temperature: Float in [0, 0.8] {
            var banned = try sampler(SamplingConfig(temperature: temperature, logitBias: banAll))
            XCTAssertThrowsError(try banned.sample(logits: logits, recentTokens: noHistory)) { error in
                XCTAssertEqual(error as? GenerationError, .samplingFailed(
                    "every token is banned: all logits are -inf or NaN after the penalties and logit bias"))
            }
            var s = try sampler(SamplingConfig(temperature: temperature))
            XCTAssertThrowsError(try s.sample(logits: [.nan, .nan, -.infinity], recentTokens: noHistory))
            XCTAssertThrowsError(try s.sample(logits: [], recentTokens: noHistory))
        }
        var s = try sampler(SamplingConfig(temperature: 1, logitBias: [7: 1]))
        XCTAssertThrowsError(try s.sample(logits: logits, recentTokens: noHistory), "bias outside the vocabulary")
        var penalised = try sampler(SamplingConfig(temperature: 1, repetitionPenalty: 1.5))
        XCTAssertThrowsError(try penalised.sample(logits: logits, recentTokens: [9]), "recent token outside the vocabulary")
        XCTAssertThrowsError(try penalised.sample(logits: [.infinity, 0], recentTokens: noHistory), "+inf cannot be weighed")
    }

    // MARK: The draw

    func testTinyTemperatureNeverDrawsUnderflowedTokens() throws {
        // At T = 1e-3 every token but the maximum has weight e^(-500) or less, which is 0 in Float:
        // the draw must land on token 1 every time, whatever the uniform number.
        var s = try sampler(SamplingConfig(temperature: 1e-3, seed: 3))
        for _ in 0..<2000 { XCTAssertEqual(try s.sample(logits: [0, 1, 0.5], recentTokens: noHistory), 1) }
        XCTAssertEqual(try probabilities(SamplingConfig(temperature: 1e-3), [0, 1, 0.5]), [0, 1, 0])
    }

    func testSameSeedGivesSameDraws() throws {
        let config = SamplingConfig(temperature: 1.5, seed: 42)
        var a = try sampler(config)
        var b = try sampler(config)
        let drawsA = try (0..<500).map { _ in try a.sample(logits: logits, recentTokens: noHistory) }
        let drawsB = try (0..<500).map { _ in try b.sample(logits: logits, recentTokens: noHistory) }
        XCTAssertEqual(drawsA, drawsB)
        XCTAssertEqual(a.generator, b.generator)
        var c = try sampler(SamplingConfig(temperature: 1.5, seed: 43))
        XCTAssertNotEqual(try (0..<500).map { _ in try c.sample(logits: logits, recentTokens: noHistory) }, drawsA)
        // A generator passed in wins over the seed, and a copied sampler continues the same stream.
        var d = try Sampler(config: SamplingConfig(temperature: 1.5, seed: 7), generator: SeededGenerator(seed: 42))
        XCTAssertEqual(try (0..<500).map { _ in try d.sample(logits: logits, recentTokens: noHistory) }, drawsA)
    }

    func testCopiedSamplersAreIndependent() throws {
        var a = try sampler(SamplingConfig(temperature: 1, seed: 5))
        _ = try a.sample(logits: logits, recentTokens: noHistory)
        var b = a
        let fromA = try (0..<100).map { _ in try a.sample(logits: logits, recentTokens: noHistory) }
        let fromB = try (0..<100).map { _ in try b.sample(logits: logits, recentTokens: noHistory) }
        XCTAssertEqual(fromA, fromB)
    }

    func testDrawFrequenciesFollowTheFinalDistribution() throws {
        // min-p 0.1 at T = 1: hand-computed above as 0.579259, 0.213096, 0.129250, 0.078394, 0.
        let expected = [0.579259, 0.213096, 0.129250, 0.078394, 0]
        var s = try sampler(SamplingConfig(temperature: 1, minP: 0.1, seed: 2024))
        let draws = 20_000
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<draws { counts[try s.sample(logits: logits, recentTokens: noHistory)] += 1 }
        XCTAssertEqual(counts[4], 0, "min-p removed token 4")
        for id in 0..<4 {
            let p = expected[id]
            let frequency = Double(counts[id]) / Double(draws)
            let standardError = (p * (1 - p) / Double(draws)).squareRoot()
            XCTAssertLessThan(abs(frequency - p), 4 * standardError, "token \(id): \(frequency) vs \(p)")
        }
    }

    func testDrawWithTemperatureFollowsReshapedDistribution() throws {
        // Temperature 2 over all five: logits/2 = 1, 0.5, 0.25, 0, -0.5;
        // e^1 = 2.718282, e^0.5 = 1.648721, e^0.25 = 1.284025, 1, e^-0.5 = 0.606531 (sum 7.257559).
        let expected = [0.374545, 0.227173, 0.176922, 0.137787, 0.083572]
        var s = try sampler(SamplingConfig(temperature: 2, seed: 99))
        let draws = 20_000
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<draws { counts[try s.sample(logits: logits, recentTokens: noHistory)] += 1 }
        for id in 0..<5 {
            let p = expected[id]
            let frequency = Double(counts[id]) / Double(draws)
            XCTAssertLessThan(abs(frequency - p), 4 * (p * (1 - p) / Double(draws)).squareRoot(), "token \(id)")
        }
        let p = try probabilities(SamplingConfig(temperature: 2))
        assertClose(p, expected.map(Float.init), absolute: 2e-6, relative: 0)
    }

    // MARK: Large vocabulary

    /// A permutation of 0..<50_000 / 1000 as logits, so the ranking is known without sorting.
    private func largeLogits() -> [Float] {
        (0..<50_000).map { Float(($0 * 7919) % 50_000) / 1000 }
    }

    func testTopKOnLargeVocabularyMatchesReference() throws {
        let values = largeLogits()
        let p = try probabilities(SamplingConfig(temperature: 1, topK: 40), values)
        // The 40 largest values are 49.960 ... 49.999; their softmax is e^(v - 49.999) / sum.
        let kept = values.indices.filter { values[$0] >= 49.96 }
        XCTAssertEqual(kept.count, 40)
        XCTAssertEqual(Set(p.indices.filter { p[$0] > 0 }), Set(kept))
        let total = kept.reduce(0.0) { $0 + exp(Double(values[$1]) - 49.999) }
        assertClose(kept.map { Double(p[$0]) }, kept.map { exp(Double(values[$0]) - 49.999) / total },
                    absolute: 1e-6, relative: 1e-4)
        var s = try sampler(SamplingConfig(temperature: 1, topK: 40))
        let keptSet = Set(kept)
        for _ in 0..<200 { XCTAssertTrue(keptSet.contains(try s.sample(logits: values, recentTokens: [1, 2, 3]))) }
    }

    func testTopKOnSortedAndTiedLogits() throws {
        // Increasing logits replace the heap root for every token: the survivors are the last 100 ids.
        let increasing = (0..<50_000).map { Float($0) / 10_000 }
        let p = try probabilities(SamplingConfig(temperature: 1, topK: 100), increasing)
        XCTAssertEqual(p.indices.filter { p[$0] > 0 }, Array(49_900..<50_000))
        // Equal logits: the lowest ids win, and each keeps 1/3.
        let flat = [Float](repeating: 0.5, count: 1000)
        let q = try probabilities(SamplingConfig(temperature: 1, topK: 3), flat)
        XCTAssertEqual(q.indices.filter { q[$0] > 0 }, [0, 1, 2])
        assertClose(Array(q[0..<3]), [1 / 3, 1 / 3, 1 / 3], absolute: 1e-7, relative: 0)
    }

    func testTopPOnLargeVocabularyMatchesSortedReference() throws {
        let values = largeLogits()
        // Reference: sort every token by logit, accumulate softmax mass until it reaches 0.9.
        let order = values.indices.sorted { values[$0] > values[$1] }
        let weights = order.map { exp(Double(values[$0]) - 49.999) }
        let total = weights.reduce(0, +)
        var cumulative = 0.0
        var keptCount = 0
        while cumulative < 0.9 * total {
            cumulative += weights[keptCount]
            keptCount += 1
        }
        // e^-0.001 steps: the 0.9 nucleus of this geometric tail has about ln(10) / 0.001 = 2303 tokens.
        XCTAssertEqual(keptCount, 2303)
        let p = try probabilities(SamplingConfig(temperature: 1, topP: 0.9), values)
        XCTAssertEqual(Set(p.indices.filter { p[$0] > 0 }), Set(order.prefix(keptCount)))
    }

    func testTopPQuickselectMatchesSortedReferenceOnRandomLogits() throws {
        var random = SeededGenerator(seed: 11)
        let values = (0..<20_000).map { _ in 3 * random.nextNormal() }
        let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        let maximum = Double(values[order[0]])
        let weights = order.map { exp(Double(values[$0]) - maximum) }
        let total = weights.reduce(0, +)
        for topP: Float in [0.05, 0.5, 0.9, 0.99] {
            var cumulative = 0.0
            var keptCount = 0
            while cumulative < Double(topP) * total {
                cumulative += weights[keptCount]
                keptCount += 1
            }
            let p = try probabilities(SamplingConfig(temperature: 1, topP: topP), values)
            XCTAssertEqual(Set(p.indices.filter { p[$0] > 0 }), Set(order.prefix(keptCount)), "top-p \(topP)")
        }
    }

    func testTopPOnEqualLogitsKeepsLowestIDs() throws {
        // 1000 equal weights: 0.2995 of the mass needs 300 tokens, and ties go to the lowest ids.
        let p = try probabilities(SamplingConfig(temperature: 1, topP: 0.2995), [Float](repeating: -2, count: 1000))
        XCTAssertEqual(p.indices.filter { p[$0] > 0 }, Array(0..<300))
        assertClose(Array(p[0..<300]), [Float](repeating: 1.0 / 300, count: 300), absolute: 1e-7, relative: 0)
    }

    // MARK: Validation

    func testValidationRejectsBadSettings() {
        let bad: [(SamplingConfig, String)] = [
            (SamplingConfig(topP: 0), "top-p"),
            (SamplingConfig(topP: 1.01), "top-p"),
            (SamplingConfig(topP: -0.5), "top-p"),
            (SamplingConfig(temperature: -0.1), "temperature"),
            (SamplingConfig(temperature: .nan), "temperature"),
            (SamplingConfig(temperature: 1e-39), "temperature"),  // subnormal: 1 / T is infinite
            (SamplingConfig(topK: -1), "top-k"),
            (SamplingConfig(minP: -0.01), "min-p"),
            (SamplingConfig(minP: 1.5), "min-p"),
            (SamplingConfig(repetitionPenalty: 0), "repetition penalty"),
            (SamplingConfig(repetitionPenalty: -1), "repetition penalty"),
            (SamplingConfig(penaltyLastN: -1), "penalty window"),
            (SamplingConfig(logitBias: [3: .infinity]), "logit bias"),
            (SamplingConfig(logitBias: [-2: 1]), "logit bias"),
        ]
        for (config, subject) in bad {
            XCTAssertThrowsError(try config.validate(), subject) { error in
                guard case GenerationError.invalidSamplingConfig(let message) = error else {
                    return XCTFail("wrong error \(error)")
                }
                XCTAssertTrue(message.contains(subject), message)
                XCTAssertFalse(String(describing: error).contains("\n"))
            }
            XCTAssertThrowsError(try Sampler(config: config), subject)
        }
        XCTAssertNoThrow(try SamplingConfig(temperature: 0, topK: 0, topP: 1, minP: 1, penaltyLastN: 0).validate())
        XCTAssertNoThrow(try SamplingConfig(logitBias: [4: -.infinity]).validate(vocabularySize: 5))
        XCTAssertThrowsError(try SamplingConfig(logitBias: [5: -.infinity]).validate(vocabularySize: 5)) { error in
            XCTAssertEqual(String(describing: error),
                           "invalid sampling setting: logit bias names token 5 but the vocabulary has 5 tokens (ids 0..<5)")
        }
    }

    func testDefaultsAndCodable() throws {
        let defaults = SamplingConfig()
        XCTAssertEqual(defaults.temperature, 0.8)
        XCTAssertEqual(defaults.topK, 0)
        XCTAssertEqual(defaults.topP, 1)
        XCTAssertEqual(defaults.minP, 0)
        XCTAssertEqual(defaults.repetitionPenalty, 1)
        XCTAssertEqual(defaults.penaltyLastN, 64)
        XCTAssertEqual(try JSONDecoder().decode(SamplingConfig.self, from: Data("{}".utf8)), defaults)
        let partial = try JSONDecoder().decode(SamplingConfig.self, from: Data(#"{"topK": 40, "logitBias": {"7": -2}}"#.utf8))
        XCTAssertEqual(partial, SamplingConfig(topK: 40, logitBias: [7: -2]))
        let full = SamplingConfig(temperature: 0.3, topK: 5, topP: 0.9, minP: 0.05, repetitionPenalty: 1.1,
                                  frequencyPenalty: 0.2, presencePenalty: 0.1, penaltyLastN: 16, logitBias: [1: -1], seed: 9)
        XCTAssertEqual(try JSONDecoder().decode(SamplingConfig.self, from: try JSONEncoder().encode(full)), full)
    }
}
