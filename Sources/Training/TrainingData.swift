import Core
import Tokenizers

/// A contiguous part of a token stream held in memory or in a memory-mapped token file. Batches copy the
/// few ids they need out of it, so a mapped corpus is never read whole.
public struct TokenSpan: Sendable {
    enum Storage: Sendable {
        case memory([Int32])
        case file(MappedTokenFile)
    }

    let storage: Storage
    /// The span's place in its storage.
    let range: Range<Int>

    public var count: Int { range.count }

    /// All of `ids`, in memory.
    public init(_ ids: [Int32]) {
        storage = .memory(ids)
        range = 0..<ids.count
    }

    /// All of a mapped token file.
    public init(file: MappedTokenFile) {
        storage = .file(file)
        range = 0..<file.count
    }

    init(storage: Storage, range: Range<Int>) {
        self.storage = storage
        self.range = range
    }

    /// Copies the ids at `offsets` (relative to the span) into `destination`; ids from a file are checked
    /// against its vocabulary and its size on the way (see `MappedTokenFile.copy`).
    public func copy(_ offsets: Range<Int>, into destination: UnsafeMutablePointer<Int32>) throws {
        guard offsets.lowerBound >= 0 && offsets.upperBound <= count else {
            throw TrainingError.corpusTooSmall("tokens \(offsets) asked of a span of \(count)")
        }
        let absolute = (range.lowerBound + offsets.lowerBound)..<(range.lowerBound + offsets.upperBound)
        switch storage {
        case .memory(let ids):
            ids.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + absolute.lowerBound, count: absolute.count) }
        case .file(let file):
            try file.copy(absolute, into: destination)
        }
    }

    /// The ids at `offsets`, as an array.
    public func ids(_ offsets: Range<Int>) throws -> [Int32] {
        try [Int32](unsafeUninitializedCapacity: offsets.count) { buffer, initialized in
            try copy(offsets, into: buffer.baseAddress!)
            initialized = offsets.count
        }
    }
}

/// A token stream split into a training part (the first 1 - fraction) and a validation part (the rest),
/// as nanoGPT's prepare.py does, with random (B, T) batches drawn from the seeded generator.
public struct TrainingData: Sendable {
    public let train: TokenSpan
    public let validation: TokenSpan
    /// Token counts of both parts and a checksum of all ids: what a resumed run compares to recognise
    /// its corpus (the checksum comes from a token file's header, so the file is not read for it).
    public let fingerprint: String

    /// Ids held in memory (small corpora, tests, the alignment pipeline's pretraining text).
    public init(tokens: [Int32], validationFraction: Double, contextLength: Int) throws {
        var checksum = TokenFile.Checksum()
        for token in tokens { checksum.add(UInt32(bitPattern: token)) }
        try self.init(storage: .memory(tokens), count: tokens.count, checksum: checksum.value,
                      validationFraction: validationFraction, contextLength: contextLength)
    }

    /// A token file, mapped: memory does not grow with its size.
    public init(file: MappedTokenFile, validationFraction: Double, contextLength: Int) throws {
        try self.init(storage: .file(file), count: file.count, checksum: try file.checksum(),
                      validationFraction: validationFraction, contextLength: contextLength)
    }

    private init(storage: TokenSpan.Storage, count: Int, checksum: UInt64, validationFraction: Double, contextLength: Int) throws {
        guard count > 0 else { throw TrainingError.corpusTooSmall("the corpus is empty") }
        let split = Int(Double(count) * (1 - validationFraction))
        train = TokenSpan(storage: storage, range: 0..<split)
        validation = TokenSpan(storage: storage, range: split..<count)
        fingerprint = "\(train.count)+\(validation.count):\(String(checksum, radix: 16))"
        // A batch row needs T inputs plus one more token for the last target.
        let needed = contextLength + 1
        guard train.count >= needed, validation.count >= needed else {
            throw TrainingError.corpusTooSmall(
                "the corpus has \(count) tokens: too short for context \(contextLength) (the training and validation parts each need at least \(needed) tokens)")
        }
    }

    /// Inputs and next-token targets, each (B, T), from random offsets into `tokens`.
    public static func randomBatch(from tokens: TokenSpan, batch b: Int, time t: Int,
                                   generator: inout SeededGenerator) throws -> (inputs: [Int32], targets: [Int32]) {
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(b * t)
        targets.reserveCapacity(b * t)
        var row = [Int32](repeating: 0, count: t + 1)  // (T + 1): the inputs, then one more for the last target
        for _ in 0..<b {
            let start = generator.nextInt(below: tokens.count - t)
            try row.withUnsafeMutableBufferPointer { try tokens.copy(start..<(start + t + 1), into: $0.baseAddress!) }
            inputs.append(contentsOf: row[0..<t])
            targets.append(contentsOf: row[1...t])
        }
        return (inputs, targets)
    }
}
