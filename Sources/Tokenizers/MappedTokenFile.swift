import Core
import Foundation

/// A token file mapped read-only: reading a range of ids touches only the pages it spans, so a reader's
/// memory does not grow with the file (nanoGPT's `np.memmap`).
///
/// The file can change under the mapping (another process truncating or rewriting it in place). Touching a
/// page past a truncated end would kill the process with SIGBUS, so every read first checks that the file
/// still has its original size, and every id read is checked against the vocabulary: a changed file is a
/// thrown error, never a crash. (A file replaced by rename, as our writers do, keeps the old mapping intact.)
public final class MappedTokenFile: @unchecked Sendable {
    public let path: String
    public let header: TokenFile.Header
    private let fd: Int32
    private let base: UnsafeRawPointer?
    /// A multiple of the page size and of the kernel's fault-around window.
    static let releaseWindow = 1 << 20

    public var count: Int { header.count }
    public var vocabularySize: Int { header.vocabularySize }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw CoreError.fileNotFound(path: path) }
            throw CoreError.readFailed(path: path, reason: String(cString: strerror(errno)))
        }
        do {
            header = try TokenFile.readHeader(fd: fd, path: path)
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        guard header.count > 0 else {
            base = nil
            return
        }
        let mapped = mmap(nil, header.fileSize, PROT_READ, MAP_SHARED, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            close(fd)
            throw CoreError.readFailed(path: path, reason: "cannot map it: \(String(cString: strerror(errno)))")
        }
        // Batches are drawn at random offsets: reading ahead around them would only fill memory.
        madvise(mapped, header.fileSize, MADV_RANDOM)
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), header.fileSize) }
        close(fd)
    }

    /// Widens the ids in `range` to Int32 into `destination` (which holds `range.count` values), checking
    /// each against the vocabulary; then releases the pages from this process's resident set (they stay
    /// in the page cache), so touching the whole file over a long run does not grow it.
    public func copy(_ range: Range<Int>, into destination: UnsafeMutablePointer<Int32>) throws {
        guard range.lowerBound >= 0 && range.upperBound <= count else {
            throw TokenizerError.invalidArgument("ids \(range) are outside \(path)'s \(count) ids")
        }
        guard let base, !range.isEmpty else { return }
        try checkUnchanged()
        let data = base + header.dataOffset
        for index in range {
            let value: UInt32 = header.width == 2
                ? UInt32(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
                : UInt32(littleEndian: data.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
            guard value < UInt32(header.vocabularySize) else {
                throw TokenizerError.badFile(path: path, reason: "id \(value) at position \(index) is out of range for the vocabulary of \(header.vocabularySize)")
            }
            destination[index - range.lowerBound] = Int32(bitPattern: value)
        }
        // The kernel maps cached neighbours of a faulting page too ("fault-around", 64 kB aligned by
        // default), so release the whole aligned window around the ids, not only their own pages.
        let window = Self.releaseWindow
        let first = (header.dataOffset + range.lowerBound * header.width) / window * window
        let end = min((header.dataOffset + range.upperBound * header.width + window - 1) / window * window, header.fileSize)
        madvise(UnsafeMutableRawPointer(mutating: base + first), end - first, MADV_DONTNEED)
    }

    /// The ids in `range`, widened and checked (see `copy`).
    public func ids(_ range: Range<Int>) throws -> [Int32] {
        try [Int32](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            try copy(range, into: buffer.baseAddress!)
            initialized = range.count
        }
    }

    /// The checksum of all ids: the header's, or for a version 1 file computed a block at a time (each
    /// block's pages released after use, so the resident set stays small).
    public func checksum() throws -> UInt64 {
        if let recorded = header.checksum { return recorded }
        var checksum = TokenFile.Checksum()
        let block = 1 << 20
        var ids = [Int32](repeating: 0, count: block)
        var start = 0
        while start < count {
            let end = min(start + block, count)
            try ids.withUnsafeMutableBufferPointer { try copy(start..<end, into: $0.baseAddress!) }
            for id in ids[0..<(end - start)] { checksum.add(UInt32(bitPattern: id)) }
            start = end
        }
        return checksum.value
    }

    private func checkUnchanged() throws {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw CoreError.readFailed(path: path, reason: String(cString: strerror(errno))) }
        guard Int(status.st_size) >= header.fileSize else {
            throw TokenizerError.badFile(path: path, reason: "it shrank to \(status.st_size) bytes while in use (it had \(header.fileSize))")
        }
    }
}
