import Foundation

/// Keeps a second process from writing into a run directory this one is writing: an exclusive `flock`
/// on `DIR/lock`, which names the holder's pid. The kernel drops the lock when the holder exits in any
/// way (kill -9 included), so a lock file left behind never blocks a later run.
public final class RunLock {
    public static let fileName = "lock"
    public let directory: String
    private let descriptor: Int32

    /// Creates `directory` if needed and locks it, or throws naming the pid that holds it.
    public init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CoreError.writeFailed(path: directory, reason: "cannot create the directory")
        }
        let path = directory + "/" + Self.fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? AtomicFile.read(path)).flatMap { String(data: $0, encoding: .utf8) }?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw CoreError.invalidArgument("\(directory) is in use by another minigpt process (pid \(holder.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"), "
                                            + "lock file \(path)); wait for it to finish or choose another directory")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress!, $0.count, 0) }
        self.directory = directory
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
