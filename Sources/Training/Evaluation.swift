import Model

/// Cross-entropy of a model over a token stream, in non-overlapping windows of the context length (the
/// last window may be shorter): every token but the first is predicted exactly once. With `maxBatches`
/// only that many batches of full windows are scored, spread evenly over the stream, so the cost of an
/// evaluation does not grow with the corpus.
public enum Evaluation {
    public struct Result: Sendable, Equatable {
        /// Sum of -ln p(token) over the predicted tokens.
        public var totalNats: Double
        public var predictedTokens: Int
        public var meanLoss: Double { totalNats / Double(max(predictedTokens, 1)) }
    }

    public static func crossEntropy(model: any LanguageModel, tokens: [Int32], batchSize: Int = 8) throws -> Result {
        try crossEntropy(model: model, tokens: TokenSpan(tokens), batchSize: batchSize)
    }

    /// `progress(done, total)` is called after each batch with counts of windows.
    public static func crossEntropy(model: any LanguageModel, tokens: TokenSpan, batchSize: Int = 8, maxBatches: Int? = nil,
                                    progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let t = model.config.contextLength
        var result = Result(totalNats: 0, predictedTokens: 0)
        guard tokens.count >= 2 else { return result }
        let fullWindows = (tokens.count - 1) / t
        let tailLength = (tokens.count - 1) % t
        // Window i of `windows` starts at token windowStart(i).
        let windows: Int, tail: Int?, windowStart: (Int) -> Int
        if let maxBatches, fullWindows > maxBatches * batchSize {
            windows = maxBatches * batchSize
            tail = nil
            windowStart = { $0 * fullWindows / windows * t }
        } else {
            windows = fullWindows
            tail = tailLength > 0 ? fullWindows * t : nil
            windowStart = { $0 * t }
        }
        var first = 0
        while first < windows {
            let group = first..<min(first + batchSize, windows)
            try add(group.map(windowStart), length: t, model: model, tokens: tokens, into: &result)
            first = group.upperBound
            progress(first, windows)
        }
        if let tail { try add([tail], length: tailLength, model: model, tokens: tokens, into: &result) }
        return result
    }

    private static func add(_ starts: [Int], length: Int, model: any LanguageModel, tokens: TokenSpan, into result: inout Result) throws {
        var inputs: [Int32] = [], targets: [Int32] = []
        for start in starts {
            let row = try tokens.ids(start..<(start + length + 1))  // (length + 1): inputs, then the last target
            inputs.append(contentsOf: row.dropLast())
            targets.append(contentsOf: row.dropFirst())
        }
        let mean = try model.forward(tokens: inputs, targets: targets, batch: starts.count, time: length)!
        result.totalNats += Double(mean) * Double(inputs.count)
        result.predictedTokens += inputs.count
    }
}
