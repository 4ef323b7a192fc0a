/// Errors raised by the Accounting module. Each renders as one line a CLI can print as it is.
public enum AccountingError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): return message
        }
    }
}

/// Large counts as people write them: `175e9`, `175B`, `1.5T`, `300_000`, `6.4k`.
public enum Quantity {
    /// Case-insensitive suffixes: K = 1e3, M = 1e6, B or G = 1e9, T = 1e12, P = 1e15.
    public static let suffixes: [Character: Double] = ["k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15]

    /// Parses a positive, finite quantity; `name` (e.g. "--params") goes into the error message.
    public static func parse(_ text: String, name: String) throws -> Double {
        let bad = AccountingError.invalid(
            "\(name) \"\(text)\" is not a number: write e.g. 175e9, 175B, 1.5T or 300000 (suffixes K M B/G T P)")
        var digits = text.trimmingWhitespace().replacingUnderscores()
        let negative = digits.first == "-"
        if negative { digits.removeFirst() }
        var scale = 1.0
        if let last = digits.last, let factor = suffixes[Character(last.lowercased())] {
            scale = factor
            digits.removeLast()
        }
        guard isPlainDecimal(digits), let value = Double(digits) else { throw bad }
        let result = value * scale
        guard result.isFinite else { throw AccountingError.invalid("\(name) \(text) is too large") }
        guard result > 0, !negative else { throw AccountingError.invalid("\(name) must be positive, got \(text)") }
        return result
    }

    /// Digits with an optional decimal point and exponent; no sign, hex, `inf` or `nan`.
    private static func isPlainDecimal(_ text: String) -> Bool {
        var sawDigit = false, sawPoint = false, index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c.isASCII && c.isNumber {
                sawDigit = true
            } else if c == "." && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index = text.index(after: index)
        }
        guard sawDigit else { return false }
        guard index < text.endIndex else { return true }
        guard text[index] == "e" || text[index] == "E" else { return false }
        var exponent = text[text.index(after: index)...]
        if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
        return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    fileprivate func replacingUnderscores() -> String { filter { $0 != "_" } }
}
