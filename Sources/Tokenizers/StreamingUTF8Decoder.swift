/// Turns a stream of token bytes into text without splitting characters: a BPE token may end in the
/// middle of a UTF-8 sequence, so `feed` returns only the characters that are complete and keeps the
/// unfinished tail for the next call. Malformed bytes become U+FFFD as soon as they are known to be bad,
/// one replacement per maximal ill-formed subpart (the policy of Unicode and of `String(decoding:)`), so
/// feeding everything and then calling `flush` gives exactly `String(decoding: allBytes, as: UTF8.self)`.
public struct StreamingUTF8Decoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds bytes and returns the text they complete (possibly empty).
    public mutating func feed(_ bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        return drain(final: false)
    }

    /// Returns whatever is left; an unfinished sequence at the end becomes U+FFFD.
    public mutating func flush() -> String {
        drain(final: true)
    }

    /// Bytes held back because they may start a character that is not complete yet.
    public var pendingByteCount: Int { pending.count }

    private mutating func drain(final: Bool) -> String {
        var output: [UInt8] = []
        var index = 0
        let count = pending.count
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        while index < count {
            let lead = pending[index]
            if lead < 0x80 {
                output.append(lead)
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // allowed range of the second byte
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default:
                output.append(contentsOf: replacement)
                index += 1
                continue
            }
            // How many bytes of a well-formed sequence are present.
            var valid = 1
            while valid < length && index + valid < count {
                let byte = pending[index + valid]
                let ok = valid == 1 ? (byte >= low && byte <= high) : (byte & 0xC0 == 0x80)
                guard ok else { break }
                valid += 1
            }
            if valid == length {
                output.append(contentsOf: pending[index ..< index + length])
                index += length
            } else if index + valid == count && !final {
                break  // a correct prefix that the next bytes may complete
            } else {
                output.append(contentsOf: replacement)
                index += valid
            }
        }
        pending.removeFirst(index)
        return String(decoding: output, as: UTF8.self)
    }
}
