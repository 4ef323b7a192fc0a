import Foundation

/// Standard input and output without traps: Foundation's `FileHandle.write` and `readDataToEndOfFile` end
/// the process with a fatal error on EBADF, ENOSPC or EISDIR. Here a failed write is one `Error:` line and
/// status 1, a reader gets a thrown error, and a closed pipe ends the process quietly the way `yes | head` does.
enum StandardStreams {
    /// Standard descriptors that were closed when the process started. They are reserved with /dev/null so
    /// that no file we open takes their number (output meant for stdout would otherwise land in it).
    nonisolated(unsafe) private static var closedAtStart: Set<Int32> = []

    static func reserveClosedDescriptors() {
        for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", O_RDWR)
            if opened == descriptor { closedAtStart.insert(descriptor) } else if opened >= 0 { close(opened) }
        }
    }

    /// Writes all of `bytes` to standard output, or ends the process: EPIPE (the reader went away) by the
    /// default SIGPIPE action, status 141 in a shell, with nothing printed; anything else with one error line.
    static func writeOutput(_ bytes: some Collection<UInt8>) {
        if let reason = write(bytes, to: STDOUT_FILENO) {
            if reason == EPIPE {
                signal(SIGPIPE, SIG_DFL)
                raise(SIGPIPE)
            }
            writeError("Error: cannot write to standard output: \(describe(reason))\n")
            exit(ExitCodes.failure)
        }
    }

    /// Best effort: when standard error itself fails there is nowhere left to report it.
    static func writeError(_ text: String) {
        _ = write(Array(text.utf8), to: STDERR_FILENO)
    }

    /// All of standard input, or a one-line error when it is closed, a directory or unreadable.
    static func readInput() throws -> [UInt8] {
        try checkInput()
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress!, $0.count) }
            if count == 0 { return result }
            if count < 0 {
                if errno == EINTR { continue }
                throw StreamError("cannot read standard input: \(describe(errno))")
            }
            result.append(contentsOf: chunk[..<count])
        }
    }

    /// Throws when standard input is closed or a directory (reading would fail or see nothing).
    static func checkInput() throws {
        guard !closedAtStart.contains(STDIN_FILENO) else { throw StreamError("standard input is closed") }
        var status = stat()
        guard fstat(STDIN_FILENO, &status) == 0 else { throw StreamError("cannot read standard input: \(describe(errno))") }
        guard status.st_mode & S_IFMT != S_IFDIR else { throw StreamError("standard input is a directory") }
    }

    /// Returns the errno of a failed write, or nil when every byte went out.
    private static func write(_ bytes: some Collection<UInt8>, to descriptor: Int32) -> Int32? {
        if closedAtStart.contains(descriptor) { return EBADF }
        let buffer = Array(bytes)
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }

    private static func describe(_ code: Int32) -> String {
        code == EBADF ? "it is closed" : String(cString: strerror(code))
    }
}

enum ExitCodes {
    static let failure: Int32 = 1
}

struct StreamError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
