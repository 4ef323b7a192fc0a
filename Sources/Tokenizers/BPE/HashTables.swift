import Foundation

/// Interns byte strings: each distinct byte string gets the next dense index (0, 1, 2, ...), and a lookup
/// by pointer and length finds it without building an Array or a String. Open addressing, linear probing,
/// power-of-two capacity, grows at 50% load. Used for the vocabulary (index == token id when tokens are
/// inserted in id order), the per-call encode cache and the trainer's distinct chunks.
final class ByteStringTable {
    private(set) var count = 0
    private var capacity: Int
    private var slots: UnsafeMutablePointer<Int32>       // entry index, or -1 when empty
    private var keyStart: [Int] = []
    private var keyLength: [Int32] = []
    private var hashes: [UInt64] = []
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0
    private var arenaCapacity: Int

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        capacity = size
        slots = .allocate(capacity: size)
        slots.initialize(repeating: -1, count: size)
        arenaCapacity = 1024
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
    }

    /// The bytes of entry `index`.
    func key(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + keyStart[index], count: Int(keyLength[index]))
    }

    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(length)
        var offset = 0
        while offset + 8 <= length {
            let word = UnsafeRawPointer(bytes + offset).loadUnaligned(as: UInt64.self)
            h = (h ^ word) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 32
            offset += 8
        }
        if offset < length {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while offset < length {
                word |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            h = (h ^ word) &* 0x9E37_79B9_7F4A_7C15
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    /// The index of the entry equal to `bytes[0..<length]`, if any.
    @inline(__always)
    func find(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let h = Self.hash(bytes, length)
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == h && Int(keyLength[entry]) == length && memcmp(arena + keyStart[entry], bytes, length) == 0 {
                return entry
            }
            slot = (slot + 1) & mask
        }
    }

    /// The index of the entry equal to the bytes, inserting them as a new entry when absent.
    @discardableResult
    func insert(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> (index: Int, inserted: Bool) {
        let h = Self.hash(bytes, length)
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { break }
            if hashes[entry] == h && Int(keyLength[entry]) == length && memcmp(arena + keyStart[entry], bytes, length) == 0 {
                return (entry, false)
            }
            slot = (slot + 1) & mask
        }
        if arenaCount + length > arenaCapacity {
            var newCapacity = arenaCapacity * 2
            while newCapacity < arenaCount + length { newCapacity *= 2 }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            grown.update(from: arena, count: arenaCount)
            arena.deallocate()
            arena = grown
            arenaCapacity = newCapacity
        }
        (arena + arenaCount).update(from: bytes, count: length)
        let index = count
        keyStart.append(arenaCount)
        keyLength.append(Int32(length))
        hashes.append(h)
        arenaCount += length
        slots[slot] = Int32(index)
        count += 1
        if count * 2 > capacity { grow() }
        return (index, true)
    }

    @discardableResult
    func insert(_ bytes: [UInt8]) -> (index: Int, inserted: Bool) {
        bytes.withUnsafeBufferPointer { buffer in
            // A zero-length key still needs a valid pointer.
            guard let base = buffer.baseAddress else { var empty: UInt8 = 0; return insert(&empty, 0) }
            return insert(base, buffer.count)
        }
    }

    func find(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { var empty: UInt8 = 0; return find(&empty, 0) }
            return find(base, buffer.count)
        }
    }

    private func grow() {
        let newCapacity = capacity * 2
        let grown = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        grown.initialize(repeating: -1, count: newCapacity)
        let mask = newCapacity - 1
        for entry in 0..<count {
            var slot = Int(truncatingIfNeeded: hashes[entry]) & mask
            while grown[slot] >= 0 { slot = (slot + 1) & mask }
            grown[slot] = Int32(entry)
        }
        slots.deallocate()
        slots = grown
        capacity = newCapacity
    }
}

/// A map from a pair of token ids, packed as `first << 32 | second`, to an Int32 value.
/// Open addressing with linear probing; `UInt64.max` marks an empty slot (ids are < 2^31).
final class PairTable {
    private(set) var count = 0
    private var capacity: Int
    private var shift: UInt64
    private var keys: UnsafeMutablePointer<UInt64>
    private var values: UnsafeMutablePointer<Int32>
    private static let empty = UInt64.max

    init(minimumCapacity: Int = 16) {
        var size = 16
        var bits: UInt64 = 4
        while size < minimumCapacity * 2 { size <<= 1; bits += 1 }
        capacity = size
        shift = 64 - bits
        keys = .allocate(capacity: size)
        keys.initialize(repeating: Self.empty, count: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: 0, count: size)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always)
    static func key(_ first: Int32, _ second: Int32) -> UInt64 { UInt64(UInt32(first)) << 32 | UInt64(UInt32(second)) }

    @inline(__always)
    func get(_ key: UInt64) -> Int32? {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let stored = keys[slot]
            if stored == key { return values[slot] }
            if stored == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Sets the value for `key`; returns the previous value when there was one.
    @discardableResult
    func set(_ key: UInt64, _ value: Int32) -> Int32? {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let stored = keys[slot]
            if stored == key {
                let old = values[slot]
                values[slot] = value
                return old
            }
            if stored == Self.empty { break }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        values[slot] = value
        count += 1
        if count * 2 > capacity { grow() }
        return nil
    }

    private func grow() {
        let oldKeys = keys, oldValues = values, oldCapacity = capacity
        capacity *= 2
        shift -= 1
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: Self.empty, count: capacity)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: 0, count: capacity)
        let mask = capacity - 1
        for slot in 0..<oldCapacity where oldKeys[slot] != Self.empty {
            var target = Int(truncatingIfNeeded: (oldKeys[slot] &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[target] != Self.empty { target = (target + 1) & mask }
            keys[target] = oldKeys[slot]
            values[target] = oldValues[slot]
        }
        oldKeys.deallocate()
        oldValues.deallocate()
    }
}
