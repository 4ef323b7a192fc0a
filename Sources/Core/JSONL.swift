import Foundation

/// JSON Lines: one object per line; a bad line is reported by its number.
public enum JSONL {
    public static func encode<T: Encodable>(_ records: [T]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
    }

    /// Writes every record atomically (temp file + rename).
    public static func write<T: Encodable>(_ records: [T], to path: String) throws {
        try AtomicFile.write(try encode(records), to: path)
    }

    /// Parses every non-blank line; a malformed line throws `JSONLError.malformedLine` naming it, a file with no
    /// records `JSONLError.empty`.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> [T] {
        let text = try TextFile.read(path, allowEmpty: true)
        let decoder = JSONDecoder()
        var records: [T] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                records.append(try decoder.decode(T.self, from: Data(trimmed.utf8)))
            } catch let DecodingError.keyNotFound(key, _) {
                throw JSONLError.malformedLine(path: path, line: index + 1, reason: "missing field \"\(key.stringValue)\"")
            } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
                throw JSONLError.malformedLine(path: path, line: index + 1, reason: "not a JSON object")
            } catch {
                throw JSONLError.malformedLine(path: path, line: index + 1, reason: "a field has the wrong type or value")
            }
        }
        guard !records.isEmpty else { throw JSONLError.empty(path: path) }
        return records
    }
}

/// A JSON Lines file that cannot be read as records; one line each.
public enum JSONLError: Error, CustomStringConvertible, Equatable, Sendable {
    /// File, 1-based line number, what is wrong.
    case malformedLine(path: String, line: Int, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .malformedLine(let path, let line, let reason): return "\(path) line \(line): \(reason)"
        case .empty(let path): return "\(path) is empty: nothing to train or evaluate on"
        }
    }
}
