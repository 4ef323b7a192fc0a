import Core
import Foundation

/// Writes a token file of any length by appending ids, holding none of them in memory: they go to a
/// temporary file beside the target, and `finish` writes the header (count, largest id, checksum),
/// flushes and renames it into place. Until then the target path is untouched; a writer dropped without
/// `finish` (an error, a signal that unwinds) removes its temporary file.
public final class TokenFileWriter {
    public let path: String
    public let vocabularySize: Int
    public private(set) var count = 0
    private let width: Int
    private let temporaryPath: String
    private var fd: Int32
    private var largestID: UInt32 = 0
    private var checksum = TokenFile.Checksum()
    private var bytes: [UInt8] = []

    public init(path: String, vocabularySize: Int) throws {
        guard vocabularySize >= 1 && vocabularySize <= Int(UInt32.max) else {
            throw TokenizerError.invalidArgument("a token file's vocabulary size must be 1...\(UInt32.max), got \(vocabularySize)")
        }
        self.path = path
        self.vocabularySize = vocabularySize
        width = TokenFile.elementWidth(vocabularySize: vocabularySize)
        let directory = (path as NSString).deletingLastPathComponent
        temporaryPath = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        // The header is written for real by `finish`; until then its place holds zeros.
        try writeAll([UInt8](repeating: 0, count: TokenFile.headerSize))
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    /// Appends ids (each must be below the vocabulary size).
    public func append(_ ids: [Int]) throws {
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(ids.count * width)
        for id in ids {
            guard id >= 0 && id < vocabularySize else { throw TokenizerError.idOutOfRange(id, vocabularySize: vocabularySize) }
            let value = UInt32(id)
            checksum.add(value)
            largestID = max(largestID, value)
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
            if width == 4 {
                bytes.append(UInt8(truncatingIfNeeded: value >> 16))
                bytes.append(UInt8(truncatingIfNeeded: value >> 24))
            }
        }
        try writeAll(bytes)
        count += ids.count
    }

    /// Writes the header, flushes the file to disk and renames it to `path`.
    @discardableResult
    public func finish(documents: Int) throws -> TokenFile.Header {
        guard fd >= 0 else { throw TokenizerError.invalidArgument("the token file \(path) was already finished") }
        let header = TokenFile.Header(version: TokenFile.formatVersion, width: width, vocabularySize: vocabularySize, count: count,
                                      largestID: Int(largestID), checksum: checksum.value, documents: documents)
        let encoded = TokenFile.encodeHeader(header)
        let written = encoded.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == encoded.count, fsync(fd) == 0 else { throw failure() }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            let error = failure()
            unlink(temporaryPath)
            throw error
        }
        return header
    }

    private func writeAll(_ data: [UInt8]) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure()
                }
                offset += written
            }
        }
    }

    private func failure() -> CoreError { .writeFailed(path: path, reason: String(cString: strerror(errno))) }
}
