/// Errors raised by the Alignment module; each renders as one line a CLI can print as it is.
public enum AlignmentError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A JSONL line that does not parse or lacks a field: file, 1-based line number, what is wrong.
    case malformedLine(path: String, line: Int, reason: String)
    case emptyDataset(String)
    case missingDirectory(String)
    case mismatch(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .malformedLine(let path, let line, let reason): return "\(path) line \(line): \(reason)"
        case .emptyDataset(let what): return "\(what) is empty: nothing to train or evaluate on"
        case .missingDirectory(let path): return "\(path) does not exist or is not a complete model directory"
        case .mismatch(let message): return message
        case .invalidArgument(let message): return message
        }
    }
}
