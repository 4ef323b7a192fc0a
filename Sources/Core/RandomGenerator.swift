import Foundation

/// A seeded xoshiro256** generator whose whole state can be saved and restored, so that a
/// resumed training run draws exactly the numbers an uninterrupted run would have drawn.
public struct SeededGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        // SplitMix64 spreads one seed over the four state words (xoshiro must not start at all zeros).
        var x = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw CoreError.invalidArgument("a random generator state needs 4 words, not all zero")
        }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal sample (Box-Muller; one of the pair is discarded to keep the state simple).
    public mutating func nextNormal() -> Float {
        let u1 = max(nextDouble(), 1e-300)
        let u2 = nextDouble()
        return Float((-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound (Lemire's unbiased method via the standard library).
    public mutating func nextInt(below bound: Int) -> Int {
        Int.random(in: 0..<bound, using: &self)
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

