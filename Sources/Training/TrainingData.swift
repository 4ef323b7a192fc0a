import Core

/// A token stream split into a training part (the first 1 - fraction) and a validation part (the rest),
/// as nanoGPT's prepare.py does, with random (B, T) batches drawn from the seeded generator.
public struct TrainingData: Sendable {
    public let train: [Int32]
    public let validation: [Int32]

    public init(tokens: [Int32], validationFraction: Double, contextLength: Int) throws {
        guard !tokens.isEmpty else { throw TrainingError.corpusTooSmall("the corpus is empty") }
        let split = Int(Double(tokens.count) * (1 - validationFraction))
        train = Array(tokens[..<split])
        validation = Array(tokens[split...])
        // A batch row needs T inputs plus one more token for the last target.
        let needed = contextLength + 1
        guard train.count >= needed, validation.count >= needed else {
            throw TrainingError.corpusTooSmall(
                "the corpus has \(tokens.count) tokens: too short for context \(contextLength) (the training and validation parts each need at least \(needed) tokens)")
        }
    }

    /// Inputs and next-token targets, each (B, T), from random offsets into `tokens`.
    public static func randomBatch(from tokens: [Int32], batch b: Int, time t: Int,
                                   generator: inout SeededGenerator) -> (inputs: [Int32], targets: [Int32]) {
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(b * t)
        targets.reserveCapacity(b * t)
        for _ in 0..<b {
            let start = generator.nextInt(below: tokens.count - t)
            inputs.append(contentsOf: tokens[start..<(start + t)])
            targets.append(contentsOf: tokens[(start + 1)...(start + t)])
        }
        return (inputs, targets)
    }
}
