/// When generation ends: at a stop string, at the end-of-text token, or after `maxNewTokens` tokens,
/// whichever comes first.
public struct StopCondition: Codable, Equatable, Sendable {
    /// Generation stops when the decoded text contains one of these; the stop string is not emitted.
    public var stopStrings: [String]
    /// Token that ends generation; it is not emitted. Usually the tokenizer's `endOfTextID`.
    public var endOfTextID: Int?
    /// Most tokens to generate (>= 1), counting the one that completes a stop string.
    public var maxNewTokens: Int

    /// Upper bound of `maxNewTokens`: far past any reply, and small enough that prompt + reply lengths
    /// and per-token buffers cannot overflow.
    public static let maxTokens = 1 << 30

    public init(maxNewTokens: Int, stopStrings: [String] = [], endOfTextID: Int? = nil) {
        self.maxNewTokens = maxNewTokens
        self.stopStrings = stopStrings
        self.endOfTextID = endOfTextID
    }

    public func validate() throws {
        guard maxNewTokens >= 1, maxNewTokens <= Self.maxTokens else {
            throw GenerationError.invalidStopCondition("max new tokens must be in 1...\(Self.maxTokens), got \(maxNewTokens)")
        }
        if let index = stopStrings.firstIndex(where: \.isEmpty) {
            throw GenerationError.invalidStopCondition("stop string \(index + 1) is empty; it would stop before the first token")
        }
        if let id = endOfTextID, id < 0 {
            throw GenerationError.invalidStopCondition("end-of-text id must not be negative, got \(id)")
        }
    }
}

/// Why generation ended.
public enum StopReason: Equatable, Sendable {
    case stopString(String)
    case endOfText
    case maxNewTokens
}

/// What to do after one token: print `emit`, and stop when `stop` is set.
public struct StopStep: Equatable, Sendable {
    /// Bytes that are now safe to show: they cannot be the start of a stop string any more.
    /// They may end inside a UTF-8 character, so printing should go through a streaming UTF-8 decoder.
    public var emit: [UInt8]
    public var stop: StopReason?

    public init(emit: [UInt8], stop: StopReason?) {
        self.emit = emit
        self.stop = stop
    }
}

/// Applies a `StopCondition` to the generated stream one token at a time.
///
/// Stop strings are matched on the UTF-8 bytes of the decoded text, so a stop string split across
/// several tokens (or a token that splits a character) is found. Text that could still be the start of a
/// stop string is held back until the next token settles it; when a stop string completes, the text before
/// it is emitted and the stop string and anything after it are dropped. When generation ends for another
/// reason the held-back text is emitted, because it turned out not to be a stop string.
/// If several stop strings complete on the same token, the one that starts earliest wins (then the one
/// listed first).
public struct StopChecker: Sendable {
    public let condition: StopCondition
    /// Tokens seen so far, including an end-of-text token.
    public private(set) var tokenCount = 0
    public private(set) var stopReason: StopReason?
    private let stops: [[UInt8]]
    private var pending: [UInt8] = []  // decoded bytes not yet emitted

    public init(_ condition: StopCondition) throws {
        try condition.validate()
        self.condition = condition
        self.stops = condition.stopStrings.map { Array($0.utf8) }
        pending.reserveCapacity((stops.map(\.count).max() ?? 0) + 64)
    }

    /// Feeds the next generated token and its decoded bytes (`tokenizer.decodeBytes([token])`).
    /// Calling it again after a stop is a programming error.
    public mutating func next(token: Int, bytes: some Collection<UInt8>) -> StopStep {
        precondition(stopReason == nil, "StopChecker.next called after generation stopped (\(stopReason!))")
        tokenCount += 1
        if token == condition.endOfTextID {
            return finish(.endOfText, emitting: pending.count)
        }
        pending.append(contentsOf: bytes)
        if let (start, index) = earliestMatch() {
            return finish(.stopString(condition.stopStrings[index]), emitting: start)
        }
        if tokenCount >= condition.maxNewTokens {
            return finish(.maxNewTokens, emitting: pending.count)
        }
        let safe = pending.count - longestSuffixThatStartsAStop()
        let emit = Array(pending[..<safe])
        pending.removeFirst(safe)
        return StopStep(emit: emit, stop: nil)
    }

    /// Convenience for text that is already decoded.
    public mutating func next(token: Int, text: String) -> StopStep {
        next(token: token, bytes: text.utf8)
    }

    /// Ends generation for a reason outside the condition (context full, interrupted) and returns the
    /// held-back bytes, which are then known not to be a stop string.
    public mutating func flush() -> [UInt8] {
        let rest = pending
        pending.removeAll()
        return rest
    }

    private mutating func finish(_ reason: StopReason, emitting count: Int) -> StopStep {
        stopReason = reason
        let emit = Array(pending[..<count])
        pending.removeAll()
        return StopStep(emit: emit, stop: reason)
    }

    /// Start offset in `pending` and index of the earliest complete stop string.
    private func earliestMatch() -> (start: Int, index: Int)? {
        var best: (start: Int, index: Int)?
        for (index, stop) in stops.enumerated() where stop.count <= pending.count {
            for start in 0...(pending.count - stop.count) {
                if let best, start >= best.start { break }
                if pending[start..<start + stop.count].elementsEqual(stop) {
                    best = (start, index)
                    break
                }
            }
        }
        return best
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of some stop string.
    private func longestSuffixThatStartsAStop() -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, pending.count)
            while length > longest {
                if pending[(pending.count - length)...].elementsEqual(stop[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}
