import Foundation
import Generation
import Model
import Serving
import TestSupport
import Tokenizers
import XCTest

/// The shipped chat model, loaded once for all server tests.
let assistant: (model: GPT, tokenizer: any Tokenizer) = {
    try! ModelDirectory.load(packageRoot() + "/Models/tiny-assistant")
}()

/// An `OpenAIServer` on a free loopback port, run in a task until `stop()`.
final class RunningServer: @unchecked Sendable {
    let port: Int
    let server: OpenAIServer
    private let task: Task<Void, any Error>

    private init(port: Int, server: OpenAIServer, task: Task<Void, any Error>) {
        self.port = port
        self.server = server
        self.task = task
    }

    static func start(slots: Int = 4, queue: Int = 16, timeout: Double = 60, apiKey: String? = nil,
                      batching: BatchedDecoding = .rowByRow, maxBodyBytes: Int = 1 << 16) async throws -> RunningServer {
        let engine = InferenceEngine(model: assistant.model)
        engine.batchedDecoding = batching
        let settings = ServerSettings(port: 0, apiKey: apiKey, modelName: "tiny-assistant", maxBodyBytes: maxBodyBytes,
                                      limits: .init(slots: slots, queueLimit: queue, timeout: timeout))
        let server = try OpenAIServer(engine: engine, tokenizer: assistant.tokenizer, settings: settings)
        let (urls, continuation) = AsyncStream.makeStream(of: String.self)
        let task = Task { try await server.run(handleSignals: false) { continuation.yield($0) } }
        var iterator = urls.makeAsyncIterator()
        guard let url = await iterator.next(), let port = Int(url.split(separator: ":").last ?? "") else {
            throw HTTPTestError.malformedReply("the server did not report its address")
        }
        return RunningServer(port: port, server: server, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) throws -> HTTPReply {
        try httpRequest(port: port, method, path, body: body, headers: headers)
    }

    /// Sequences running now, from /health.
    func running() throws -> Int {
        let health = try request("GET", "/health").json as? [String: Any]
        return health?["running"] as? Int ?? -1
    }
}

/// The `data:` payloads of a server-sent event stream, checking the framing on the way: every event is one
/// `data: ` line ended by a blank line, and nothing follows `data: [DONE]`.
func serverSentEvents(_ body: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
    var events = body.components(separatedBy: "\n\n")
    XCTAssertEqual(events.last, "", "the stream must end with a blank line", file: file, line: line)
    events.removeLast()
    for event in events {
        XCTAssertTrue(event.hasPrefix("data: ") && !event.dropFirst(6).contains("\n"), "bad event: \(event)", file: file, line: line)
    }
    XCTAssertEqual(events.last, "data: [DONE]", file: file, line: line)
    return events.map { String($0.dropFirst(6)) }
}

func jsonObject(_ text: String) -> [String: Any]? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
}

/// A JSON request body from a dictionary.
func body(_ fields: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
}

/// The streamed text of a chat or completion stream and its finish reason.
func streamedText(_ payloads: [String]) -> (text: String, finish: String?) {
    var text = ""
    var finish: String?
    for payload in payloads.dropLast() {
        guard let chunk = jsonObject(payload), let choice = (chunk["choices"] as? [[String: Any]])?.first else { continue }
        text += ((choice["delta"] as? [String: Any])?["content"] as? String) ?? (choice["text"] as? String) ?? ""
        if let reason = choice["finish_reason"] as? String { finish = reason }
    }
    return (text, finish)
}
