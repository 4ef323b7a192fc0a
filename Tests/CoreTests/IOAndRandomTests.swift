import Core
import Foundation
import TestSupport
import XCTest

final class IOAndRandomTests: XCTestCase {
    func testAtomicWriteReplacesWholeFileAndLeavesNoTemporaryFile() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("a.txt")
        try AtomicFile.write("first version, longer", to: path)
        try AtomicFile.write("second", to: path)
        XCTAssertEqual(try TextFile.read(path), "second")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.txt"])
        XCTAssertThrowsError(try AtomicFile.write("x", to: directory.file("missing/dir/a.txt")))
    }

    func testTextFileErrors() throws {
        let directory = TemporaryDirectory()
        XCTAssertThrowsError(try TextFile.read(directory.file("none.txt"))) { XCTAssertEqual($0 as? CoreError, .fileNotFound(path: directory.file("none.txt"))) }
        let empty = directory.write("", to: "empty.txt")
        XCTAssertThrowsError(try TextFile.read(empty))
        let invalid = directory.file("bad.txt")
        _ = FileManager.default.createFile(atPath: invalid, contents: Data([0x61, 0xFF, 0x62]))
        XCTAssertThrowsError(try TextFile.read(invalid))
        XCTAssertThrowsError(try TextFile.read(directory.path))
    }

    func testGeneratorIsReproducibleAndRestorable() throws {
        var a = SeededGenerator(seed: 5)
        var b = SeededGenerator(seed: 5)
        var c = SeededGenerator(seed: 6)
        let first = (0..<8).map { _ in a.next() }
        XCTAssertEqual(first, (0..<8).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<8).map { _ in c.next() })
        var restored = try SeededGenerator(state: a.state)
        XCTAssertEqual((0..<8).map { _ in a.next() }, (0..<8).map { _ in restored.next() })
        XCTAssertThrowsError(try SeededGenerator(state: [0, 0, 0, 0]))
    }

    func testGeneratorDistributions() {
        var generator = SeededGenerator(seed: 9)
        let n = 100_000
        let uniforms = (0..<n).map { _ in generator.nextFloat() }
        XCTAssertTrue(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(Double(uniforms.reduce(0, +)) / Double(n), 0.5, accuracy: 0.005)
        let normals = (0..<n).map { _ in Double(generator.nextNormal()) }
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
    }
}
