import Core
import Foundation

/// A corpus already turned into token ids, so training reads it (memory-mapped) without tokenizing again.
///
/// Layout of version 2 (all integers little-endian), a 64-byte header then the ids:
/// ```
/// 0  16 bytes  "minigpt-tokens" padded with zero bytes (format name)
/// 16 UInt32    format version (2)
/// 20 UInt32    bytes per id: 2 when the vocabulary has at most 65,536 ids, else 4
/// 24 UInt64    vocabulary size
/// 32 UInt64    number of ids
/// 40 UInt64    largest id in the file (0 when it holds none): checked against the vocabulary at open time
/// 48 UInt64    checksum of the ids (`TokenFile.Checksum`), which a resumed run compares without reading the ids
/// 56 UInt64    number of documents (input files) the ids came from
/// 64 ...       the ids, UInt16 or UInt32 each
/// ```
/// Version 1 has only the first 40 bytes of that header; it is still read.
public enum TokenFile {
    public static let formatName = "minigpt-tokens"
    public static let formatVersion: UInt32 = 2
    public static let headerSize = 64
    static let version1HeaderSize = 40

    public static func elementWidth(vocabularySize: Int) -> Int { vocabularySize <= 65_536 ? 2 : 4 }

    /// What a token file's header says, validated against the file's size.
    public struct Header: Equatable, Sendable {
        public var version: UInt32
        public var width: Int
        public var vocabularySize: Int
        public var count: Int
        /// Nil for version 1 files, which do not record them.
        public var largestID: Int?
        public var checksum: UInt64?
        public var documents: Int?
        public var dataOffset: Int { version == 1 ? version1HeaderSize : headerSize }
        public var fileSize: Int { dataOffset + count * width }
    }

    /// FNV-1a over the ids, one id (not one byte) per round: the same hash the trainer has always used to
    /// recognise its corpus on resume, so runs started from text or from version 1 files still resume.
    public struct Checksum: Sendable {
        public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
        public init() {}
        @inline(__always)
        public mutating func add(_ id: UInt32) { value = (value ^ UInt64(id)) &* 0x0000_0100_0000_01B3 }
    }

    /// Writes the file atomically (a reader sees the old file or the whole new one).
    public static func write(ids: [Int], vocabularySize: Int, to path: String) throws {
        let writer = try TokenFileWriter(path: path, vocabularySize: vocabularySize)
        try writer.append(ids)
        try writer.finish(documents: ids.isEmpty ? 0 : 1)
    }

    public static func write(ids: [Int32], vocabularySize: Int, to path: String) throws {
        try write(ids: ids.map(Int.init), vocabularySize: vocabularySize, to: path)
    }

    /// Reads and validates a whole token file into memory: the header, the size, every id below the
    /// vocabulary size and (version 2) the recorded largest id and checksum. Training maps the file instead
    /// (`MappedTokenFile`); this is for small files and tools.
    public static func read(_ path: String) throws -> (ids: [Int32], vocabularySize: Int) {
        let file = try MappedTokenFile(path: path)
        let ids = try file.ids(0..<file.count)
        if let checksum = file.header.checksum {
            var computed = Checksum()
            for id in ids { computed.add(UInt32(bitPattern: id)) }
            guard computed.value == checksum else {
                throw TokenizerError.badFile(path: path, reason: "the ids do not match the header's checksum (changed after it was written?)")
            }
        }
        if let largest = file.header.largestID, largest != Int(ids.max() ?? 0) {
            throw TokenizerError.badFile(path: path, reason: "the header says the largest id is \(largest), the file's is \(ids.max() ?? 0)")
        }
        return (ids, file.vocabularySize)
    }

    /// True when the file starts with the token file's format name (cheap: reads 16 bytes).
    public static func looksLikeTokenFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 16), prefix.count == 16 else { return false }
        let name = Array(formatName.utf8)
        return Array(prefix.prefix(name.count)) == name && prefix.dropFirst(name.count).allSatisfy { $0 == 0 }
    }

    /// Reads and checks the header of the open file `fd`: every size is validated before anything is
    /// allocated or mapped, and the file's size must equal what the header promises.
    static func readHeader(fd: Int32, path: String) throws -> Header {
        func bad(_ reason: String) -> TokenizerError { .badFile(path: path, reason: reason) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw CoreError.readFailed(path: path, reason: String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw CoreError.readFailed(path: path, reason: "it is not a regular file") }
        let fileSize = Int(status.st_size)
        guard fileSize >= version1HeaderSize else {
            throw bad("\(fileSize) bytes is shorter than the \(version1HeaderSize)-byte token file header")
        }
        var bytes = [UInt8](repeating: 0, count: headerSize)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min(headerSize, fileSize), 0) }
        guard got == min(headerSize, fileSize) else { throw bad("could not read the header") }
        let name = Array(formatName.utf8)
        guard Array(bytes[0..<name.count]) == name, bytes[name.count..<16].allSatisfy({ $0 == 0 }) else {
            throw bad("it does not start with \"\(formatName)\"")
        }
        let version = UInt32(readLittleEndian(bytes, at: 16, bytes: 4))
        guard version == 1 || version == formatVersion else {
            throw bad("\(formatName) version \(version) is not supported (this build reads versions 1 and \(formatVersion))")
        }
        guard version == 1 || fileSize >= headerSize else {
            throw bad("\(fileSize) bytes is shorter than the \(headerSize)-byte version \(version) header")
        }
        let width = Int(readLittleEndian(bytes, at: 20, bytes: 4))
        let vocabularySize = readLittleEndian(bytes, at: 24, bytes: 8)
        let count = readLittleEndian(bytes, at: 32, bytes: 8)
        guard vocabularySize >= 1 && vocabularySize <= UInt64(UInt32.max) else { throw bad("vocabulary size \(vocabularySize) is out of range") }
        guard width == elementWidth(vocabularySize: Int(vocabularySize)) else {
            throw bad("ids are \(width) bytes wide, but a vocabulary of \(vocabularySize) needs \(elementWidth(vocabularySize: Int(vocabularySize)))")
        }
        guard count < 1 << 40 else { throw bad("id count \(count) is implausibly large") }
        var header = Header(version: version, width: width, vocabularySize: Int(vocabularySize), count: Int(count))
        if version >= 2 {
            let largest = readLittleEndian(bytes, at: 40, bytes: 8)
            guard largest < vocabularySize else {
                throw bad("its largest id, \(largest), is out of range for the vocabulary of \(vocabularySize)")
            }
            let documents = readLittleEndian(bytes, at: 56, bytes: 8)
            guard documents <= count + 1 else { throw bad("\(documents) documents for \(count) ids is implausible") }
            header.largestID = Int(largest)
            header.checksum = readLittleEndian(bytes, at: 48, bytes: 8)
            header.documents = Int(documents)
        }
        guard header.fileSize == fileSize else {
            throw bad("the header promises \(count) ids (\(header.fileSize) bytes) but the file has \(fileSize) bytes (truncated?)")
        }
        return header
    }

    /// The 64 header bytes of a version 2 file.
    static func encodeHeader(_ header: Header) -> [UInt8] {
        var bytes = Array(formatName.utf8)
        bytes.append(contentsOf: repeatElement(0, count: 16 - bytes.count))
        appendLittleEndian(&bytes, UInt64(formatVersion), bytes: 4)
        appendLittleEndian(&bytes, UInt64(header.width), bytes: 4)
        appendLittleEndian(&bytes, UInt64(header.vocabularySize), bytes: 8)
        appendLittleEndian(&bytes, UInt64(header.count), bytes: 8)
        appendLittleEndian(&bytes, UInt64(header.largestID ?? 0), bytes: 8)
        appendLittleEndian(&bytes, header.checksum ?? Checksum().value, bytes: 8)
        appendLittleEndian(&bytes, UInt64(header.documents ?? 0), bytes: 8)
        return bytes
    }

    private static func appendLittleEndian(_ bytes: inout [UInt8], _ value: UInt64, bytes count: Int) {
        for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    private static func readLittleEndian(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }
}
