import Foundation

/// One named Float32 tensor: its shape and row-major values.
public struct NamedTensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// How tensor values are stored in a file: F32, or F16 (IEEE half precision: half the bytes, values
/// rounded to the nearest half, about 3 significant digits; read back as Float).
public enum TensorStorage: String, CaseIterable, Sendable {
    case f32 = "F32"
    case f16 = "F16"

    var bytesPerValue: Int { self == .f32 ? 4 : 2 }
}

/// Reads and writes the safetensors format (https://huggingface.co/docs/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and
/// byte range in the data section, then the data. MiniGPT computes in F32; files may store F32 or F16.
public enum Safetensors {
    /// Largest JSON header accepted; real headers for our models are a few KB.
    public static let maxHeaderBytes = 16 << 20

    public static func encode(_ tensors: [NamedTensor], metadata: [String: String], storage: TensorStorage = .f32) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for tensor in tensors {
            guard tensor.shape.reduce(1, *) == tensor.values.count else {
                throw CoreError.invalidArgument("tensor \(tensor.name): shape \(tensor.shape) does not hold \(tensor.values.count) values")
            }
            let bytes = tensor.values.count * storage.bytesPerValue
            header[tensor.name] = ["dtype": storage.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for tensor in tensors where storage == .f16 {
            // Float16(Float) rounds to nearest, ties to even; values beyond the half range become infinite.
            let halves = tensor.values.map { Float16($0).bitPattern.littleEndian }
            halves.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        for tensor in tensors where storage == .f32 {
            tensor.values.withUnsafeBufferPointer { values in
                // Float is little-endian on every platform Swift runs MiniGPT on (x86_64, arm64).
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(values.baseAddress!).assumingMemoryBound(to: UInt8.self),
                                                count: values.count * 4))
            }
        }
        return data
    }

    public static func write(_ tensors: [NamedTensor], metadata: [String: String], storage: TensorStorage = .f32, to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata, storage: storage), to: path)
    }

    /// Parses a safetensors file, validating every size and offset before any tensor is read.
    public static func decode(_ data: Data, path: String) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        func bad(_ reason: String) -> CoreError { .badFormat(path: path, reason: reason) }
        guard data.count >= 8 else { throw bad("only \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(maxHeaderBytes) else { throw bad("header claims \(headerLength) bytes (limit \(maxHeaderBytes))") }
        guard headerLength <= UInt64(data.count - 8) else {
            throw bad("header claims \(headerLength) bytes but the file has \(data.count - 8) after the length (truncated?)")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = data.subdata(in: data.startIndex + 8 ..< data.startIndex + headerEnd)
        guard String(data: headerBytes, encoding: .utf8) != nil else { throw bad("header is not valid UTF-8") }
        guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let dataSize = data.count - headerEnd
        var metadata: [String: String] = [:]
        var entries: [(name: String, shape: [Int], begin: Int, end: Int, storage: TensorStorage)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (key, item) in dict {
                    guard let text = item as? String else { throw bad("__metadata__.\(key) is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw bad("entry \(name) is not an object") }
            guard let dtype = info["dtype"] as? String else { throw bad("tensor \(name) has no dtype") }
            guard let storage = TensorStorage(rawValue: dtype) else { throw bad("tensor \(name) has dtype \(dtype); only F32 and F16 are supported") }
            guard let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any], offsets.count == 2 else {
                throw bad("tensor \(name) lacks a shape or a pair of data_offsets")
            }
            var shape: [Int] = []
            var elements = 1
            for item in shapeValues {
                guard let dim = exactInt(item), dim >= 0 else { throw bad("tensor \(name) has a bad dimension \(item)") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow, product <= dataSize / storage.bytesPerValue + 1 else { throw bad("tensor \(name) shape \(shapeValues) is larger than the file") }
                elements = product
                shape.append(dim)
            }
            guard let begin = exactInt(offsets[0]), let end = exactInt(offsets[1]), begin >= 0, begin <= end, end <= dataSize else {
                throw bad("tensor \(name) has data_offsets \(offsets) outside the \(dataSize)-byte data section")
            }
            guard end - begin == elements * storage.bytesPerValue else {
                throw bad("tensor \(name) spans \(end - begin) bytes but its shape \(shape) needs \(elements * storage.bytesPerValue)")
            }
            entries.append((name, shape, begin, end, storage))
        }
        entries.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
        for (previous, next) in zip(entries, entries.dropFirst()) where next.begin < previous.end {
            throw bad("tensors \(previous.name) and \(next.name) overlap")
        }
        let tensors = entries.map { entry -> NamedTensor in
            let count = (entry.end - entry.begin) / entry.storage.bytesPerValue
            if entry.storage == .f16 {
                var halves = [UInt16](repeating: 0, count: count)
                halves.withUnsafeMutableBytes { target in
                    data.copyBytes(to: target.bindMemory(to: UInt8.self),
                                   from: data.startIndex + headerEnd + entry.begin ..< data.startIndex + headerEnd + entry.end)
                }
                return NamedTensor(name: entry.name, shape: entry.shape, values: halves.map { Float(Float16(bitPattern: UInt16(littleEndian: $0))) })
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { target in
                data.copyBytes(to: target.bindMemory(to: UInt8.self),
                               from: data.startIndex + headerEnd + entry.begin ..< data.startIndex + headerEnd + entry.end)
            }
            return NamedTensor(name: entry.name, shape: entry.shape, values: values)
        }
        return (tensors, metadata)
    }

    public static func read(_ path: String) throws -> (tensors: [NamedTensor], metadata: [String: String]) {
        try decode(try AtomicFile.read(path), path: path)
    }

    /// JSON numbers arrive as NSNumber; accept only exact non-fractional integers.
    private static func exactInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
        return Int(double)
    }
}
