/// Errors of moving models to and from other ecosystems. Each renders as one line.
public enum InteropError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The files are well-formed but describe something MiniGPT cannot represent.
    case unsupported(path: String, reason: String)
    /// The files are malformed or disagree with each other.
    case badFile(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unsupported(let path, let reason): return "\(path) cannot be converted: \(reason)"
        case .badFile(let path, let reason): return "\(path) is not a valid Hugging Face file: \(reason)"
        case .invalidArgument(let message): return message
        }
    }
}
