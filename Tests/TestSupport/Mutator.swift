import Core
import Foundation
import XCTest

/// Seeded byte-level mutations of valid files, for fuzzing loaders inside the ordinary test suite:
/// bit flips, byte overwrites with boundary values, inserts, deletes, duplicated ranges, truncation,
/// and number rewrites (a run of digits becomes 0, -1, 2^32, 1e308, ...), which reach the size checks
/// behind a JSON parser more often than random bytes do.
public struct Mutator {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    static let interestingBytes: [UInt8] = Array("\0\u{7F}\"{}[],:-09e.\\ \n".utf8) + [0x80, 0xC0, 0xFF, 0xFE]
    static let interestingNumbers = ["0", "-1", "1", "255", "65536", "4294967296", "-9223372036854775808", "9223372036854775807",
                                     "99999999999999999999999", "1e308", "1e-320", "0.5", "-0", "NaN", "1099511627776"]

    public mutating func mutate(_ input: Data) -> Data {
        var bytes = [UInt8](input)
        for _ in 0...generator.nextInt(below: 3) { apply(&bytes) }
        return Data(bytes)
    }

    private mutating func position(_ bytes: [UInt8]) -> Int { bytes.isEmpty ? 0 : generator.nextInt(below: bytes.count) }

    private mutating func apply(_ bytes: inout [UInt8]) {
        switch generator.nextInt(below: 9) {
        case 0 where !bytes.isEmpty:
            bytes[position(bytes)] ^= UInt8(1) << UInt8(generator.nextInt(below: 8))
        case 1 where !bytes.isEmpty:
            bytes[position(bytes)] = Self.interestingBytes[generator.nextInt(below: Self.interestingBytes.count)]
        case 2:
            let count = 1 + generator.nextInt(below: 8)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }, at: bytes.isEmpty ? 0 : position(bytes))
        case 3 where !bytes.isEmpty:
            let start = position(bytes)
            bytes.removeSubrange(start..<min(bytes.count, start + 1 + generator.nextInt(below: 16)))
        case 4:
            bytes.removeSubrange(position(bytes)...)
        case 5 where !bytes.isEmpty:
            let start = position(bytes)
            let range = start..<min(bytes.count, start + 1 + generator.nextInt(below: 32))
            bytes.insert(contentsOf: bytes[range], at: position(bytes))
        case 6 where bytes.count >= 8:
            // A little-endian boundary value over 1, 2, 4 or 8 bytes (lengths, counts, offsets in binary headers).
            let width = [1, 2, 4, 8][generator.nextInt(below: 4)]
            let values: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 40, .max, .max - 7]
            let value = values[generator.nextInt(below: values.count)]
            let start = generator.nextInt(below: bytes.count - width + 1)
            for i in 0..<width { bytes[start + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        default:
            // Rewrite a run of digits (a JSON number or a size) with a boundary value.
            let digits = bytes.indices.filter { (0x30...0x39).contains(bytes[$0]) }
            guard !digits.isEmpty else { return bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
            var start = digits[generator.nextInt(below: digits.count)], end = start
            while start > 0, (0x30...0x39).contains(bytes[start - 1]) { start -= 1 }
            while end < bytes.count, (0x30...0x39).contains(bytes[end]) { end += 1 }
            bytes.replaceSubrange(start..<end, with: Array(Self.interestingNumbers[generator.nextInt(below: Self.interestingNumbers.count)].utf8))
        }
    }
}

/// Counts of one fuzzing campaign.
public struct FuzzOutcome: CustomStringConvertible {
    public var name: String
    public var inputs = 0
    public var accepted = 0
    public var refused = 0
    public var slowest: Double = 0
    public var seconds: Double = 0

    public var description: String {
        String(format: "%@: %d inputs, %d accepted, %d refused with a typed error; %.1f s, slowest %.1f ms",
               name, inputs, accepted, refused, seconds, slowest * 1000)
    }
}

/// Feeds `iterations` mutations of `seeds` to `load`. Every input must either load or throw an error
/// that `isTyped` accepts, whose description is one non-empty line; a crash ends the test process, and
/// an input slower than `timeLimit` seconds fails the test (a hang shows as the suite's timeout).
public func fuzz(_ name: String, seeds: [Data], iterations: Int, seed: UInt64, timeLimit: Double = 2,
                 isTyped: (Error) -> Bool, load: (Data) throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> FuzzOutcome {
    var mutator = Mutator(seed: seed)
    var outcome = FuzzOutcome(name: name)
    let clock = ContinuousClock()
    for index in 0..<iterations {
        let input = index < seeds.count ? seeds[index] : mutator.mutate(seeds[index % seeds.count])
        let started = clock.now
        do {
            try load(input)
            outcome.accepted += 1
        } catch {
            outcome.refused += 1
            let text = "\(error)"
            if !isTyped(error) || text.isEmpty || text.contains("\n") {
                XCTFail("\(name) input \(index): untyped or multi-line error \(type(of: error)): \(text)", file: file, line: line)
            }
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        outcome.slowest = max(outcome.slowest, seconds)
        outcome.seconds += seconds
        if seconds > timeLimit { XCTFail("\(name) input \(index) took \(seconds) s", file: file, line: line) }
        outcome.inputs += 1
    }
    return outcome
}
