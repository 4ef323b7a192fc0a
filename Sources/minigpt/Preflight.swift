import ArgumentParser
import Core
import Foundation

/// Checks on the paths a command was given, run in `validate()` before any work, so that a typo in an
/// output path cannot cost a finished run. Each failure is a one-line usage error naming the flag.
enum Preflight {
    /// An existing file that can be read.
    static func readableFile(_ path: String, _ flag: String) throws {
        guard !path.isEmpty else { throw ValidationError("\(flag) must not be empty") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(flag) \(path): file not found")
        }
        guard !isDirectory.boolValue else { throw ValidationError("\(flag) \(path) is a directory, not a file") }
        // A device such as /dev/zero or /dev/full never ends: reading it whole would exhaust memory.
        guard isRegularFile(path) || isPipe(path) else { throw ValidationError("\(flag) \(path) is a device, not a regular file") }
        guard access(path, R_OK) == 0 else { throw ValidationError("\(flag) \(path) cannot be read (permission denied)") }
    }

    /// An existing directory.
    static func existingDirectory(_ path: String, _ flag: String) throws {
        guard !path.isEmpty else { throw ValidationError("\(flag) must not be empty") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(flag) \(path): no such directory")
        }
        guard isDirectory.boolValue else { throw ValidationError("\(flag) \(path) is a file, not a directory") }
    }

    /// A file or a directory that exists and can be read (tokenizers may be either).
    static func readablePath(_ path: String, _ flag: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            try existingDirectory(path, flag)
        } else {
            try readableFile(path, flag)
        }
    }

    /// A file this command may create: it must not exist yet (nothing is overwritten) and its directory
    /// must exist and be writable.
    static func newFile(_ path: String, _ flag: String) throws {
        try writableFile(path, flag)
        guard !FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(flag) \(path) already exists; choose another path or remove it first")
        }
    }

    /// A file this command may create or replace: not a directory, in a writable directory.
    static func writableFile(_ path: String, _ flag: String) throws {
        guard !path.isEmpty else { throw ValidationError("\(flag) must not be empty") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw ValidationError("\(flag) \(path) is a directory; give a file name") }
            // Device files such as /dev/null or /dev/full cannot be replaced atomically.
            guard FileManager.default.isDeletableFile(atPath: path), isRegularFile(path) else {
                throw ValidationError("\(flag) \(path) is not a regular file that can be replaced")
            }
        }
        try writableDirectory(AtomicFile.directory(of: path), flag, for: path)
    }

    /// A directory this command may create (with its parents) or write into.
    static func outputDirectory(_ path: String, _ flag: String) throws {
        guard !path.isEmpty else { throw ValidationError("\(flag) must not be empty") }
        var existing = path
        // The nearest existing ancestor must be a writable directory.
        while !FileManager.default.fileExists(atPath: existing) { existing = AtomicFile.directory(of: existing) }
        try writableDirectory(existing, flag, for: path)
    }

    private static func writableDirectory(_ directory: String, _ flag: String, for path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ValidationError("\(flag) \(path): the directory \(directory) does not exist")
        }
        guard isDirectory.boolValue else { throw ValidationError("\(flag) \(path): \(directory) is not a directory") }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw ValidationError("\(flag) \(path): cannot write in \(directory) (permission denied)")
        }
    }

    private static func isRegularFile(_ path: String) -> Bool { fileType(path) == S_IFREG }

    /// A named pipe or /dev/stdin fed by one: it ends when the writer closes it.
    private static func isPipe(_ path: String) -> Bool { fileType(path) == S_IFIFO }

    private static func fileType(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & S_IFMT : nil
    }

    /// Which of `flags` (e.g. "--steps") appear on the command line, as `--flag value` or `--flag=value`.
    static func given(_ flags: [String], in arguments: [String] = CommandLine.arguments) -> [String] {
        let words = arguments.prefix { $0 != "--" }
        return flags.filter { flag in words.contains { $0 == flag || $0.hasPrefix(flag + "=") } }
    }
}
