import Core
import Foundation

/// A corpus already turned into token ids, so training reads it without tokenizing again.
///
/// Layout (all integers little-endian), 40-byte header then the ids:
/// ```
/// 0  16 bytes  "minigpt-tokens" padded with zero bytes (format name)
/// 16 UInt32    format version (1)
/// 20 UInt32    bytes per id: 2 when the vocabulary has at most 65,536 ids, else 4
/// 24 UInt64    vocabulary size
/// 32 UInt64    number of ids
/// 40 ...       the ids, UInt16 or UInt32 each
/// ```
public enum TokenFile {
    public static let formatName = "minigpt-tokens"
    public static let formatVersion: UInt32 = 1
    public static let headerSize = 40

    public static func elementWidth(vocabularySize: Int) -> Int { vocabularySize <= 65_536 ? 2 : 4 }

    public static func encode(ids: [Int], vocabularySize: Int) throws -> Data {
        guard vocabularySize >= 1 && vocabularySize <= Int(UInt32.max) else {
            throw TokenizerError.invalidArgument("a token file's vocabulary size must be 1...\(UInt32.max), got \(vocabularySize)")
        }
        let width = elementWidth(vocabularySize: vocabularySize)
        var data = Data(capacity: headerSize + ids.count * width)
        var name = Array(formatName.utf8)
        name.append(contentsOf: repeatElement(0, count: 16 - name.count))
        data.append(contentsOf: name)
        appendLittleEndian(&data, UInt64(formatVersion), bytes: 4)
        appendLittleEndian(&data, UInt64(width), bytes: 4)
        appendLittleEndian(&data, UInt64(vocabularySize), bytes: 8)
        appendLittleEndian(&data, UInt64(ids.count), bytes: 8)
        var body = [UInt8](repeating: 0, count: ids.count * width)
        for (index, id) in ids.enumerated() {
            guard id >= 0 && id < vocabularySize else { throw TokenizerError.idOutOfRange(id, vocabularySize: vocabularySize) }
            let value = UInt32(id)
            body[index * width] = UInt8(value & 0xFF)
            body[index * width + 1] = UInt8(value >> 8 & 0xFF)
            if width == 4 {
                body[index * width + 2] = UInt8(value >> 16 & 0xFF)
                body[index * width + 3] = UInt8(value >> 24)
            }
        }
        data.append(contentsOf: body)
        return data
    }

    /// Writes the file atomically (a reader sees the old file or the whole new one).
    public static func write(ids: [Int], vocabularySize: Int, to path: String) throws {
        try AtomicFile.write(try encode(ids: ids, vocabularySize: vocabularySize), to: path)
    }

    public static func write(ids: [Int32], vocabularySize: Int, to path: String) throws {
        try write(ids: ids.map(Int.init), vocabularySize: vocabularySize, to: path)
    }

    /// Reads and validates a token file: the header, that the file size matches the id count exactly,
    /// and that every id is below the vocabulary size. Sizes are checked before anything is allocated.
    public static func read(_ path: String) throws -> (ids: [Int32], vocabularySize: Int) {
        func bad(_ reason: String) -> TokenizerError { .badFile(path: path, reason: reason) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { throw CoreError.fileNotFound(path: path) }
            throw CoreError.readFailed(path: path, reason: isDirectory.boolValue ? "it is a directory" : "permission denied")
        }
        defer { try? handle.close() }
        let fileSize = try Int(handle.seekToEnd())
        try handle.seek(toOffset: 0)
        guard fileSize >= headerSize else { throw bad("\(fileSize) bytes is shorter than the \(headerSize)-byte token file header") }
        let header = [UInt8](try handle.read(upToCount: headerSize) ?? Data())
        guard header.count == headerSize else { throw bad("could not read the header") }
        let (version, width, vocabularySize, count) = try parseHeader(header, bad)
        _ = version
        let expected = UInt64(headerSize) + count * UInt64(width)  // count < 2^61 was checked, so no overflow
        guard expected == UInt64(fileSize) else {
            throw bad("the header promises \(count) ids (\(expected) bytes) but the file has \(fileSize) bytes (truncated?)")
        }
        let body = [UInt8](try handle.read(upToCount: fileSize - headerSize) ?? Data())
        guard body.count == fileSize - headerSize else { throw bad("the file shrank while being read") }
        var ids = [Int32](repeating: 0, count: Int(count))
        for index in 0..<Int(count) {
            var value = UInt32(body[index * width]) | UInt32(body[index * width + 1]) << 8
            if width == 4 { value |= UInt32(body[index * width + 2]) << 16 | UInt32(body[index * width + 3]) << 24 }
            guard UInt64(value) < vocabularySize else {
                throw bad("id \(value) at position \(index) is out of range for the vocabulary of \(vocabularySize)")
            }
            ids[index] = Int32(bitPattern: value)
        }
        return (ids, Int(vocabularySize))
    }

    /// True when the file starts with the token file's format name (cheap: reads 16 bytes).
    public static func looksLikeTokenFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 16), prefix.count == 16 else { return false }
        let name = Array(formatName.utf8)
        return Array(prefix.prefix(name.count)) == name && prefix.dropFirst(name.count).allSatisfy { $0 == 0 }
    }

    private static func parseHeader(_ header: [UInt8], _ bad: (String) -> TokenizerError) throws
        -> (version: UInt32, width: Int, vocabularySize: UInt64, count: UInt64) {
        let name = Array(formatName.utf8)
        guard Array(header[0..<name.count]) == name, header[name.count..<16].allSatisfy({ $0 == 0 }) else {
            throw bad("it does not start with \"\(formatName)\"")
        }
        let version = UInt32(readLittleEndian(header, at: 16, bytes: 4))
        guard version == formatVersion else {
            throw bad("\(formatName) version \(version) is not supported (this build reads version \(formatVersion))")
        }
        let width = Int(readLittleEndian(header, at: 20, bytes: 4))
        let vocabularySize = readLittleEndian(header, at: 24, bytes: 8)
        let count = readLittleEndian(header, at: 32, bytes: 8)
        guard vocabularySize >= 1 && vocabularySize <= UInt64(UInt32.max) else { throw bad("vocabulary size \(vocabularySize) is out of range") }
        guard width == elementWidth(vocabularySize: Int(vocabularySize)) else {
            throw bad("ids are \(width) bytes wide, but a vocabulary of \(vocabularySize) needs \(elementWidth(vocabularySize: Int(vocabularySize)))")
        }
        guard count < 1 << 40 else { throw bad("id count \(count) is implausibly large") }
        return (version, width, vocabularySize, count)
    }

    private static func appendLittleEndian(_ data: inout Data, _ value: UInt64, bytes: Int) {
        for index in 0..<bytes { data.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    private static func readLittleEndian(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }
}
