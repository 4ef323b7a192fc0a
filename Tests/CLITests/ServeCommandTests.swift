import Foundation
import TestSupport
import XCTest

/// `minigpt serve` as a user runs it: the banner, same-seed equality with `minigpt generate` and `minigpt chat`,
/// and a graceful exit 0 on SIGTERM with a stream in flight.
final class ServeCommandTests: XCTestCase {
    let model = packageRoot() + "/Models/tiny-assistant"

    /// Starts the server on a free port; returns the process, its port and its stderr so far.
    func startServer(_ extra: [String] = []) throws -> (process: Process, port: Int, stderr: Pipe) {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("minigpt")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--model", model, "--port", "0", "--parallel", "2"] + extra
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var banner = ""
        while !banner.contains("\n") {
            let data = err.fileHandleForReading.availableData
            if data.isEmpty { break }
            banner += String(decoding: data, as: UTF8.self)
        }
        guard let match = banner.range(of: #"http://127\.0\.0\.1:(\d+)"#, options: .regularExpression),
              let port = Int(banner[match].split(separator: ":").last!) else {
            process.terminate()
            throw HTTPTestError.malformedReply("no banner with a URL: \(banner)")
        }
        return (process, port, err)
    }

    func testServeMatchesGenerateAndChatAndStopsCleanlyOnSIGTERM() throws {
        let (process, port, err) = try startServer()
        defer { if process.isRunning { process.terminate() } }

        let generate = try runMinigpt(["generate", "--model", model, "--prompt", "The letters", "--seed", "7", "--temperature", "1",
                                       "--top-k", "0", "--max-new-tokens", "30"])
        XCTAssertEqual(generate.status, 0, generate.stderr)
        let completion = try httpRequest(port: port, "POST", "/v1/completions",
                                         body: #"{"prompt": "The letters", "seed": 7, "temperature": 1, "max_tokens": 30}"#)
        let text = (((completion.json as? [String: Any])?["choices"] as? [[String: Any]])?.first)?["text"] as? String
        XCTAssertEqual(text.map { "The letters" + $0 + "\n" }, generate.stdout)

        let chat = try runMinigpt(["chat", "--model", model, "--system", "Be brief.", "--seed", "5", "--temperature", "0.9",
                                   "--top-k", "0", "--max-new-tokens", "24"], input: "Reverse the letters a b c\n")
        XCTAssertEqual(chat.status, 0, chat.stderr)
        let reply = try httpRequest(port: port, "POST", "/v1/chat/completions", body: """
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse the letters a b c"}],
             "seed": 5, "temperature": 0.9, "max_tokens": 24}
            """)
        let content = ((((reply.json as? [String: Any])?["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])?["content"] as? String
        XCTAssertEqual(content.map { $0 + "\n" }, chat.stdout)

        // SIGTERM with a stream in flight: the stream still ends with [DONE], then the process exits 0.
        let stream = try HTTPConnection(port: port)
        try stream.send(HTTPConnection.requestBytes("POST", "/v1/completions", body: Array(#"{"prompt": "a", "max_tokens": 60, "stream": true, "seed": 1}"#.utf8),
                                                    headers: ["Content-Type": "application/json"]))
        var seen = String(decoding: stream.receive(), as: UTF8.self)
        kill(process.processIdentifier, SIGTERM)
        seen += String(decoding: stream.receiveAll(), as: UTF8.self)
        XCTAssertTrue(seen.contains("data: [DONE]"), String(seen.suffix(300)))
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(log.contains("stopped"), log)
        XCTAssertThrowsError(try HTTPConnection(port: port), "the listener should be closed")
    }

    func testServeRejectsBadFlags() throws {
        try assertCleanFailure(["serve", "--model", model, "--port", "70000"], mentions: "--port")
        try assertCleanFailure(["serve", "--model", model, "--parallel", "0"], mentions: "--parallel")
        try assertCleanFailure(["serve", "--model", model, "--timeout", "0"], mentions: "--timeout")
        try assertCleanFailure(["serve", "--model", "/nonexistent"], mentions: "nonexistent")
    }

    func testBusyPortIsAOneLineError() throws {
        let (process, port, _) = try startServer()
        defer { process.terminate(); process.waitUntilExit() }
        try assertCleanFailure(["serve", "--model", model, "--port", String(port)], mentions: "\(port)")
    }
}
