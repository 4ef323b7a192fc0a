import Model

/// Cross-entropy of a model over a whole token stream, in non-overlapping windows of the context
/// length (the last window may be shorter). Every token but the first is predicted exactly once.
public enum Evaluation {
    public struct Result: Sendable, Equatable {
        /// Sum of -ln p(token) over the predicted tokens.
        public var totalNats: Double
        public var predictedTokens: Int
        public var meanLoss: Double { totalNats / Double(max(predictedTokens, 1)) }
    }

    public static func crossEntropy(model: any LanguageModel, tokens: [Int32], batchSize: Int = 8) throws -> Result {
        let t = model.config.contextLength
        var result = Result(totalNats: 0, predictedTokens: 0)
        guard tokens.count >= 2 else { return result }
        var windowStarts = Array(stride(from: 0, to: tokens.count - 1, by: t))
        // Full windows go through in batches; a shorter final window goes alone.
        let lastLength = min(t, tokens.count - 1 - windowStarts.last!)
        let tail = lastLength < t ? windowStarts.removeLast() : nil
        var index = 0
        while index < windowStarts.count {
            let group = windowStarts[index..<min(index + batchSize, windowStarts.count)]
            try add(group.map { $0 }, length: t, model: model, tokens: tokens, into: &result)
            index += batchSize
        }
        if let tail { try add([tail], length: lastLength, model: model, tokens: tokens, into: &result) }
        return result
    }

    private static func add(_ starts: [Int], length: Int, model: any LanguageModel, tokens: [Int32], into result: inout Result) throws {
        var inputs: [Int32] = [], targets: [Int32] = []
        for start in starts {
            inputs.append(contentsOf: tokens[start..<(start + length)])
            targets.append(contentsOf: tokens[(start + 1)...(start + length)])
        }
        let mean = try model.forward(tokens: inputs, targets: targets, batch: starts.count, time: length)!
        result.totalNats += Double(mean) * Double(inputs.count)
        result.predictedTokens += inputs.count
    }
}
