import Foundation
import Tokenizers
import XCTest

/// Paths of repository files, found from this source file's location (no bundle lookup, no network).
enum TestFiles {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static func path(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

    static func fixture(_ name: String) throws -> Any {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("Tests/TokenizersTests/Fixtures/" + name)))
        return try JSONSerialization.jsonObject(with: data)
    }

    /// GPT-2's released vocabulary, loaded once for all tests.
    static let gpt2: BPETokenizer = {
        do { return try BPETokenizer.loadGPT2(directory: path("Models/gpt2-tokenizer")) } catch { fatalError("\(error)") }
    }()

    /// A fresh temporary directory that the test removes in its teardown.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("minigpt-tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Asserts that `body` throws a `TokenizerError` whose description contains `fragment`.
func assertThrowsTokenizerError(_ fragment: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \"\(fragment)\"", file: file, line: line)
    } catch {
        let text = "\(error)"
        XCTAssertTrue(text.contains(fragment), "error \"\(text)\" does not contain \"\(fragment)\"", file: file, line: line)
    }
}
