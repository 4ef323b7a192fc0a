import XCTest

/// Fails when any |actual - expected| exceeds `absolute + relative * |expected|` and names the first bad index.
public func assertClose(_ actual: [Double], _ expected: [Double], absolute: Double, relative: Double,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("count \(actual.count) != \(expected.count) \(message())", file: file, line: line)
        return
    }
    for index in actual.indices {
        let error = abs(actual[index] - expected[index])
        let allowed = absolute + relative * abs(expected[index])
        if !(error <= allowed) {
            XCTFail("index \(index): \(actual[index]) vs expected \(expected[index]) (error \(error) > \(allowed)) \(message())",
                    file: file, line: line)
            return
        }
    }
}

public func assertClose(_ actual: [Float], _ expected: [Float], absolute: Double, relative: Double,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.map(Double.init), expected.map(Double.init), absolute: absolute, relative: relative,
                message(), file: file, line: line)
}

public func assertClose(_ actual: Double, _ expected: Double, absolute: Double, relative: Double,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose([actual], [expected], absolute: absolute, relative: relative, message(), file: file, line: line)
}

/// `assertClose` tensor by tensor over two gradients in one flat layout, naming the tensor that fails.
public func assertClose(_ actual: [Double], _ expected: [Double], tensors: [(name: String, range: Range<Int>)], absolute: Double,
                        relative: Double, file: StaticString = #filePath, line: UInt = #line) {
    for tensor in tensors {
        assertClose(Array(actual[tensor.range]), Array(expected[tensor.range]), absolute: absolute, relative: relative,
                    tensor.name, file: file, line: line)
    }
}
