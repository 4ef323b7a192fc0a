import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 client over a plain socket, for testing the server byte for byte: it sends
/// exactly the request given, reads the raw reply, and can hang up in the middle of a stream.
public struct HTTPReply {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    /// The body after removing chunked transfer encoding.
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
}

public enum HTTPTestError: Error { case connect(Int32), send, malformedReply(String) }

public final class HTTPConnection {
    public let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout` seconds.
    public init(port: Int, timeout: Int = 60) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw HTTPTestError.connect(code)
        }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPTestError.send }
            sent += n
        }
    }

    /// The next bytes the server sends (empty at end of stream or timeout).
    public func receive() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[..<n]) : []
    }

    /// Everything until the server closes the connection.
    public func receiveAll() -> [UInt8] {
        var all: [UInt8] = []
        while case let more = receive(), !more.isEmpty { all += more }
        return all
    }

    /// A request with `Connection: close`; `body` is sent with Content-Length unless `chunked`.
    public static func requestBytes(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:],
                                    chunked: Bool = false) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        guard let body else { return Array((head + "\r\n").utf8) }
        if !chunked { return Array((head + "Content-Length: \(body.count)\r\n\r\n").utf8) + body }
        var bytes = Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)
        var start = 0
        while start < body.count {
            let piece = body[start..<min(start + 65536, body.count)]
            bytes += Array((String(piece.count, radix: 16) + "\r\n").utf8) + piece + Array("\r\n".utf8)
            start += piece.count
        }
        return bytes + Array("0\r\n\r\n".utf8)
    }
}

/// One request, the whole reply.
public func httpRequest(port: Int, _ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
    var headers = headers
    if body != nil && headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
    let connection = try HTTPConnection(port: port)
    try connection.send(HTTPConnection.requestBytes(method, path, body: body.map { Array($0.utf8) }, headers: headers))
    return try parseHTTPReply(connection.receiveAll())
}

/// Splits status line, headers and body, and removes chunked transfer encoding.
public func parseHTTPReply(_ raw: [UInt8]) throws -> HTTPReply {
    let separator = Array("\r\n\r\n".utf8)
    guard let end = (0..<max(0, raw.count - 3)).first(where: { raw[$0..<$0 + 4].elementsEqual(separator) }) else {
        throw HTTPTestError.malformedReply(String(decoding: raw.prefix(200), as: UTF8.self))
    }
    let lines = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
    let statusParts = lines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw HTTPTestError.malformedReply(lines[0]) }
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var body = Array(raw[(end + 4)...])
    if headers["transfer-encoding"]?.lowercased() == "chunked" {
        var decoded: [UInt8] = []
        var index = 0
        while index < body.count {
            guard let lineEnd = (index..<body.count - 1).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }),
                  let size = Int(String(decoding: body[index..<lineEnd], as: UTF8.self), radix: 16) else {
                throw HTTPTestError.malformedReply("bad chunk header")
            }
            if size == 0 { break }
            guard lineEnd + 2 + size <= body.count else { throw HTTPTestError.malformedReply("truncated chunk") }
            decoded += body[(lineEnd + 2)..<(lineEnd + 2 + size)]
            index = lineEnd + 2 + size + 2
        }
        body = decoded
    }
    return HTTPReply(status: status, headers: headers, body: body)
}
