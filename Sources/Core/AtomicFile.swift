import Foundation

/// Writes files so that a reader (or a crash) sees either the old file or the complete new one:
/// the bytes go to a temporary file in the same directory, which is flushed to disk and then renamed.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let tempPath = directory(of: path) + "/.\(name).tmp-\(getpid())"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            unlink(tempPath)
            throw CoreError.writeFailed(path: path, reason: failure)
        }
        guard rename(tempPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tempPath)
            throw CoreError.writeFailed(path: path, reason: reason)
        }
    }

    /// The directory holding `path`: "." for a bare name, "/" at the top. (NSString's
    /// deletingLastPathComponent traps on some short relative paths, e.g. "0".)
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Flushes a directory's entries (new names, renames) to disk, so a committed rename survives a
    /// power loss as well as a killed process.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw CoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw CoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Reads a whole file, turning the usual failures into one-line errors.
    public static func read(_ path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CoreError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw CoreError.readFailed(path: path, reason: "it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoreError.readFailed(path: path, reason: "permission denied or I/O error")
        }
        return data
    }
}
