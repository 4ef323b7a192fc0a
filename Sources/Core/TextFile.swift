import Foundation

/// Reads a UTF-8 text file, refusing missing, empty and non-UTF-8 files with one-line errors.
public enum TextFile {
    public static func read(_ path: String, allowEmpty: Bool = false) throws -> String {
        let data = try AtomicFile.read(path)
        guard allowEmpty || !data.isEmpty else { throw CoreError.badFormat(path: path, reason: "the file is empty") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CoreError.badFormat(path: path, reason: "the text is not valid UTF-8")
        }
        return text
    }
}
