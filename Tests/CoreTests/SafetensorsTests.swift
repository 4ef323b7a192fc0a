import Core
import Foundation
import TestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    func testReadsFileWrittenByReferenceLibrary() throws {
        let path = try XCTUnwrap(Bundle.module.path(forResource: "reference", ofType: "safetensors", inDirectory: "Fixtures"))
        let (tensors, metadata) = try Safetensors.read(path)
        XCTAssertEqual(metadata, ["format": "fixture", "version": "1"])
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        XCTAssertEqual(byName["layer.a"]?.shape, [2, 3])
        XCTAssertEqual(byName["layer.a"]?.values, [0.5, 1.5, 2.5, 10.5, 11.5, 12.5])
        XCTAssertEqual(byName["b"]?.shape, [5])
        XCTAssertEqual(byName["b"]?.values, [-1, -2, -4, -8, -16])
    }

    func testWrittenLayoutFollowsTheFormat() throws {
        let data = try Safetensors.encode([NamedTensor(name: "x", shape: [2], values: [1, -2])], metadata: ["k": "v"])
        let headerLength = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
        XCTAssertEqual(data[4..<8].reduce(0, +), 0)
        XCTAssertEqual((8 + headerLength) % 8, 0, "data section is 8-byte aligned")
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data[8..<(8 + headerLength)]) as? [String: Any])
        let x = try XCTUnwrap(header["x"] as? [String: Any])
        XCTAssertEqual(x["dtype"] as? String, "F32")
        XCTAssertEqual(x["shape"] as? [Int], [2])
        XCTAssertEqual(x["data_offsets"] as? [Int], [0, 8])
        XCTAssertEqual(data.count, 8 + headerLength + 8)
        // 1.0f and -2.0f, little-endian
        XCTAssertEqual(Array(data.suffix(8)), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        let decoded = try Safetensors.decode(data, path: "memory")
        XCTAssertEqual(decoded.tensors, [NamedTensor(name: "x", shape: [2], values: [1, -2])])
        XCTAssertEqual(decoded.metadata, ["k": "v"])
    }

    /// F16 storage: IEEE half bit patterns worked by hand, round to nearest on write, exact Float on read.
    func testHalfPrecisionStorageRoundsToTheNearestHalf() throws {
        // 1 -> 0x3C00, -2 -> 0xC000, 0.1 -> 0x2E66 (= 0.0999755859375), 65504 (largest half) -> 0x7BFF,
        // 1 + 2^-12 is a tie between 1 and 1 + 2^-10 and rounds to the even one, 0x3C00.
        let values: [Float] = [1, -2, 0.1, 65504, 1 + 0x1p-12]
        let data = try Safetensors.encode([NamedTensor(name: "w", shape: [5], values: values)], metadata: [:], storage: .f16)
        let headerLength = Int(data[0]) | Int(data[1]) << 8
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data[8..<(8 + headerLength)]) as? [String: Any])
        let w = try XCTUnwrap(header["w"] as? [String: Any])
        XCTAssertEqual(w["dtype"] as? String, "F16")
        XCTAssertEqual(w["data_offsets"] as? [Int], [0, 10])
        XCTAssertEqual(Array(data.suffix(10)), [0x00, 0x3C, 0x00, 0xC0, 0x66, 0x2E, 0xFF, 0x7B, 0x00, 0x3C])
        let decoded = try Safetensors.decode(data, path: "memory").tensors[0].values
        XCTAssertEqual(decoded, [1, -2, 0.0999755859375, 65504, 1])
        // An F16 tensor whose byte range fits F32's size for its shape is caught.
        let text = String(decoding: data[8..<(8 + headerLength)], as: UTF8.self).replacingOccurrences(of: "[0,10]", with: "[0,20]")
        XCTAssertTrue(text.contains("[0,20]"))
        var bad = Data()
        var length = UInt64(text.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bad.append(contentsOf: $0) }
        bad.append(contentsOf: Array(text.utf8))
        bad.append(contentsOf: [UInt8](repeating: 0, count: 20))
        XCTAssertThrowsError(try Safetensors.decode(bad, path: "memory")) { error in
            XCTAssertTrue("\(error)".contains("needs 10"), "\(error)")
        }
    }

    /// Hand-built headers that lie in each way a loader must catch.
    func testRejectsHostileHeaders() {
        func file(_ header: String, dataBytes: Int, claimedLength: UInt64? = nil) -> Data {
            var data = Data()
            var length = (claimedLength ?? UInt64(header.utf8.count)).littleEndian
            withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
            data.append(Data(header.utf8))
            data.append(Data(repeating: 0, count: dataBytes))
            return data
        }
        let cases: [(String, Data)] = [
            ("truncated length", Data([1, 2, 3])),
            ("header claims terabytes", file("{}", dataBytes: 0, claimedLength: 1 << 40)),
            ("header longer than file", file("{}", dataBytes: 0, claimedLength: 100)),
            ("not JSON", file("not json", dataBytes: 0)),
            ("wrong dtype", file(#"{"a":{"dtype":"I8","shape":[2],"data_offsets":[0,4]}}"#, dataBytes: 4)),
            ("size mismatch", file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8)),
            ("offset past end", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, dataBytes: 8)),
            ("negative dimension", file(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, dataBytes: 8)),
            ("huge shape", file(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, dataBytes: 8)),
            ("overlap", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12)),
        ]
        for (name, data) in cases {
            XCTAssertThrowsError(try Safetensors.decode(data, path: "bad.safetensors"), name) { error in
                guard case CoreError.badFormat = error else { return XCTFail("\(name): unexpected \(error)") }
            }
        }
    }
}
