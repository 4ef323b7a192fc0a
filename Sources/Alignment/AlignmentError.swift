/// Errors raised by the alignment algorithms; each renders as one line that describes the values involved
/// (a CLI maps them to its own flag names).
public enum AlignmentError: Error, CustomStringConvertible, Equatable, Sendable {
    case emptyDataset(String)
    case missingDirectory(String)
    case mismatch(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .emptyDataset(let what): return "\(what) is empty: nothing to train or evaluate on"
        case .missingDirectory(let path): return "\(path) does not exist or is not a complete model directory"
        case .mismatch(let message): return message
        case .invalidArgument(let message): return message
        }
    }
}
