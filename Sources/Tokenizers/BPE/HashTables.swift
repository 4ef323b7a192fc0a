import Foundation

/// Interns byte strings: each distinct byte string gets the next dense index (0, 1, 2, ...), and a lookup
/// by pointer and length finds it without building an Array or a String. Open addressing, linear probing,
/// power-of-two capacity, grows at 50% load. Used for the vocabulary (index == token id when tokens are
/// inserted in id order), the per-call encode cache and the trainer's distinct chunks.
final class ByteStringTable {
    private(set) var count = 0
    private var capacity: Int
    /// Per slot: the hash's upper 32 bits (a fingerprint, so most mismatches never touch `entries`) and
    /// entry index + 1 in the lower 32 bits; 0 marks an empty slot.
    private var slots: UnsafeMutablePointer<UInt64>
    private var entries: UnsafeMutablePointer<ByteStringEntry>
    private var entryCapacity = 16
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaCount = 0
    private var arenaCapacity: Int

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        capacity = size
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
        arenaCapacity = 1024
        arena = .allocate(capacity: arenaCapacity)
        entries = .allocate(capacity: entryCapacity)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
        entries.deallocate()
    }

    /// The bytes of entry `index`.
    func key(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + entries[index].start, count: entries[index].length)
    }

    /// A read-only view for hot loops (plain pointers, no class access per probe). It is valid until the
    /// next `insert`, so it is only taken of tables that are no longer growing.
    func lookup() -> ByteStringLookup {
        ByteStringLookup(slots: slots, entries: entries, arena: arena, mask: capacity - 1)
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
        let fingerprint = h >> 32
        while true {
            let packed = slots[slot]
            if packed == 0 { return nil }
            if packed >> 32 == fingerprint {
                let entry = Int(packed & 0xFFFF_FFFF) - 1
                let stored = entries[entry]
                if stored.hash == h && stored.length == length && memcmp(arena + stored.start, bytes, length) == 0 {
                    return entry
                }
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
            let packed = slots[slot]
            if packed == 0 { break }
            if packed >> 32 == h >> 32 {
                let entry = Int(packed & 0xFFFF_FFFF) - 1
                let stored = entries[entry]
                if stored.hash == h && stored.length == length && memcmp(arena + stored.start, bytes, length) == 0 {
                    return (entry, false)
                }
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
        if index == entryCapacity {
            let grown = UnsafeMutablePointer<ByteStringEntry>.allocate(capacity: entryCapacity * 2)
            grown.moveInitialize(from: entries, count: count)
            entries.deallocate()
            entries = grown
            entryCapacity *= 2
        }
        (entries + index).initialize(to: ByteStringEntry(start: arenaCount, length: length, hash: h))
        arenaCount += length
        slots[slot] = (h >> 32) << 32 | UInt64(index + 1)
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
        let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
        grown.initialize(repeating: 0, count: newCapacity)
        let mask = newCapacity - 1
        for entry in 0..<count {
            let h = entries[entry].hash
            var slot = Int(truncatingIfNeeded: h) & mask
            while grown[slot] != 0 { slot = (slot + 1) & mask }
            grown[slot] = (h >> 32) << 32 | UInt64(entry + 1)
        }
        slots.deallocate()
        slots = grown
        capacity = newCapacity
    }
}

struct ByteStringEntry {
    var start: Int
    var length: Int
    var hash: UInt64
}

/// Read-only probing of a `ByteStringTable` through plain pointers.
struct ByteStringLookup {
    let slots: UnsafeMutablePointer<UInt64>
    let entries: UnsafeMutablePointer<ByteStringEntry>
    let arena: UnsafeMutablePointer<UInt8>
    let mask: Int

    @inline(__always)
    func find(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int? {
        let h = ByteStringTable.hash(bytes, length)
        var slot = Int(truncatingIfNeeded: h) & mask
        let fingerprint = h >> 32
        while true {
            let packed = slots[slot]
            if packed == 0 { return nil }
            if packed >> 32 == fingerprint {
                let entry = Int(packed & 0xFFFF_FFFF) - 1
                let stored = entries[entry]
                if stored.hash == h && stored.length == length && memcmp(arena + stored.start, bytes, length) == 0 {
                    return entry
                }
            }
            slot = (slot + 1) & mask
        }
    }
}

/// One slot of a `PairTable`: key and value side by side, so a probe touches one cache line.
struct PairSlot {
    var key: UInt64
    var value: Int32
}

/// Read-only probing of a `PairTable` through plain pointers.
struct PairLookup {
    let slots: UnsafeMutablePointer<PairSlot>
    let mask: Int
    let shift: UInt64

    /// The value for the pair, or `Int32.max` when it is absent.
    @inline(__always)
    func get(_ first: Int32, _ second: Int32) -> Int32 {
        let key = PairTable.key(first, second)
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let stored = slots[slot]
            if stored.key == key { return stored.value }
            if stored.key == UInt64.max { return Int32.max }
            slot = (slot + 1) & mask
        }
    }
}

/// A map from a pair of token ids, packed as `first << 32 | second`, to an Int32 value.
/// Open addressing with linear probing; `UInt64.max` marks an empty slot (ids are < 2^31).
final class PairTable {
    private(set) var count = 0
    private var capacity: Int
    private var shift: UInt64
    private var slots: UnsafeMutablePointer<PairSlot>
    private static let empty = UInt64.max

    init(minimumCapacity: Int = 16) {
        var size = 16
        var bits: UInt64 = 4
        while size < minimumCapacity * 2 { size <<= 1; bits += 1 }
        capacity = size
        shift = 64 - bits
        slots = .allocate(capacity: size)
        slots.initialize(repeating: PairSlot(key: Self.empty, value: 0), count: size)
    }

    deinit { slots.deallocate() }

    /// A read-only view for hot loops; valid until the next `set`.
    func lookup() -> PairLookup { PairLookup(slots: slots, mask: capacity - 1, shift: shift) }

    @inline(__always)
    static func key(_ first: Int32, _ second: Int32) -> UInt64 { UInt64(UInt32(first)) << 32 | UInt64(UInt32(second)) }

    @inline(__always)
    func get(_ key: UInt64) -> Int32? {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let stored = slots[slot]
            if stored.key == key { return stored.value }
            if stored.key == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Sets the value for `key`; returns the previous value when there was one.
    @discardableResult
    func set(_ key: UInt64, _ value: Int32) -> Int32? {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let stored = slots[slot].key
            if stored == key {
                let old = slots[slot].value
                slots[slot].value = value
                return old
            }
            if stored == Self.empty { break }
            slot = (slot + 1) & mask
        }
        slots[slot] = PairSlot(key: key, value: value)
        count += 1
        if count * 2 > capacity { grow() }
        return nil
    }

    private func grow() {
        let old = slots, oldCapacity = capacity
        capacity *= 2
        shift -= 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: PairSlot(key: Self.empty, value: 0), count: capacity)
        let mask = capacity - 1
        for slot in 0..<oldCapacity where old[slot].key != Self.empty {
            var target = Int(truncatingIfNeeded: (old[slot].key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while slots[target].key != Self.empty { target = (target + 1) & mask }
            slots[target] = old[slot]
        }
        old.deallocate()
    }
}
