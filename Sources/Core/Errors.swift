/// Errors raised by the Core module. Each case renders as one line a CLI can print as it is.
public enum CoreError: Error, CustomStringConvertible, Equatable, Sendable {
    case fileNotFound(path: String)
    case readFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case badFormat(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "file not found: \(path)"
        case .readFailed(let path, let reason): return "cannot read \(path): \(reason)"
        case .writeFailed(let path, let reason): return "cannot write \(path): \(reason)"
        case .badFormat(let path, let reason): return "\(path) is not a valid file: \(reason)"
        case .invalidArgument(let message): return message
        }
    }
}
