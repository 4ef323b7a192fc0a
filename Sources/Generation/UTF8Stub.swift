/// Temporary stand-in for the BPE branch's `StreamingUTF8Decoder` until it is merged: holds back an
/// unfinished trailing UTF-8 sequence.
struct StreamingUTF8Decoder {
    private var pending: [UInt8] = []

    mutating func feed(_ bytes: [UInt8]) -> String {
        pending += bytes
        var cut = pending.count
        for back in 1...min(3, pending.count) {
            let byte = pending[pending.count - back]
            if byte & 0xC0 == 0x80 { continue }  // continuation byte
            let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if needed > back { cut = pending.count - back }
            break
        }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}
