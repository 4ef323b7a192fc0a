import Foundation
import Generation
import Model
import Serving
import TestSupport
import Tokenizers
import XCTest

/// The HTTP contract of `minigpt serve`, checked against a live server on loopback.
final class ServerContractTests: XCTestCase {
    /// A completion that cannot end early (end of text banned), for tests that need a request in flight.
    var endless: String {
        body(["prompt": "The letters", "max_tokens": RequestParser.maxTokensLimit, "stream": true, "seed": 1,
              "logit_bias": [String(assistant.tokenizer.endOfTextID!): -100]])
    }

    func testHealthModelsAndChatPage() async throws {
        let server = try await RunningServer.start()
        defer { Task { await server.stop() } }
        let health = try server.request("GET", "/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.headers["content-type"], "application/json")
        XCTAssertEqual((health.json as? [String: Any])?["status"] as? String, "ok")
        let models = try server.request("GET", "/v1/models").json as? [String: Any]
        XCTAssertEqual(models?["object"] as? String, "list")
        XCTAssertEqual(((models?["data"] as? [[String: Any]])?.first)?["id"] as? String, "tiny-assistant")
        let page = try server.request("GET", "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("/v1/chat/completions"))
        // Nothing is fetched from elsewhere: no absolute URLs at all.
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://") || page.text.contains("//cdn"))
    }

    /// A chat request gives the text `ChatSession` (what `minigpt chat` runs) gives for the same seed, streamed
    /// or not, with the template's prompt length in usage.
    func testChatEqualsChatSessionWithTheSameSeed() async throws {
        let server = try await RunningServer.start()
        defer { Task { await server.stop() } }
        for seed in [3, 11] {
            let chat = try ChatSession(model: assistant.model, tokenizer: assistant.tokenizer, system: "Be brief.",
                                       sampling: SamplingConfig(temperature: 0.9, topP: 0.95, presencePenalty: 0.5, seed: UInt64(seed)),
                                       maxNewTokens: 24)
            let expected = try chat.respond(to: "Reverse the letters a b c")
            let request: [String: Any] = ["messages": [["role": "system", "content": "Be brief."],
                                                       ["role": "user", "content": "Reverse the letters a b c"]],
                                          "temperature": 0.9, "top_p": 0.95, "presence_penalty": 0.5, "seed": seed, "max_tokens": 24]
            let reply = try server.request("POST", "/v1/chat/completions", body: body(request))
            XCTAssertEqual(reply.status, 200, reply.text)
            let object = try XCTUnwrap(reply.json as? [String: Any])
            XCTAssertEqual(object["object"] as? String, "chat.completion")
            let choice = try XCTUnwrap((object["choices"] as? [[String: Any]])?.first)
            let message = choice["message"] as? [String: Any]
            XCTAssertEqual(message?["role"] as? String, "assistant")
            XCTAssertEqual(message?["content"] as? String, expected.text, "seed \(seed)")
            XCTAssertEqual(choice["finish_reason"] as? String, expected.stopReason == .maxNewTokens ? "length" : "stop")
            let template = try ChatTemplate(tokenizer: assistant.tokenizer)
            let promptTokens = try template.encode([.init(role: .system, text: "Be brief."), .init(role: .user, text: "Reverse the letters a b c")],
                                                   tokenizer: assistant.tokenizer, promptAssistant: true).count
            let usage = object["usage"] as? [String: Int]
            XCTAssertEqual(usage?["prompt_tokens"], promptTokens)
            XCTAssertEqual(usage?["total_tokens"], promptTokens + (usage?["completion_tokens"] ?? -1))

            var streaming = request
            streaming["stream"] = true
            let stream = try server.request("POST", "/v1/chat/completions", body: body(streaming))
            XCTAssertEqual(stream.headers["content-type"], "text/event-stream")
            let (text, finish) = streamedText(serverSentEvents(stream.text))
            XCTAssertEqual(text, expected.text)
            XCTAssertEqual(finish, choice["finish_reason"] as? String)
        }
    }

    /// A completion gives the text `TextGenerator` (what `minigpt generate` runs) gives for the same seed.
    func testCompletionEqualsGenerateWithTheSameSeed() async throws {
        let server = try await RunningServer.start()
        defer { Task { await server.stop() } }
        let tokenizer = assistant.tokenizer
        let prompt = "The letters q r s"
        let sampling = SamplingConfig(temperature: 1.1, topK: 40, frequencyPenalty: 0.4, logitBias: [5: 2], seed: 77)
        var expected = ""
        let result = try TextGenerator(model: assistant.model).generate(
            prompt: try tokenizer.encode(prompt), sampling: sampling,
            stop: StopCondition(maxNewTokens: 30, stopStrings: ["\n\n"], endOfTextID: tokenizer.endOfTextID), tokenizer: tokenizer) { expected += $0 }
        let request: [String: Any] = ["prompt": prompt, "temperature": 1.1, "top_k": 40, "frequency_penalty": 0.4,
                                      "logit_bias": ["5": 2], "seed": 77, "max_tokens": 30, "stop": "\n\n"]
        let reply = try server.request("POST", "/v1/completions", body: body(request))
        let object = try XCTUnwrap(reply.json as? [String: Any], reply.text)
        XCTAssertEqual(object["object"] as? String, "text_completion")
        let choice = try XCTUnwrap((object["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, expected)
        XCTAssertEqual(choice["finish_reason"] as? String, result.stopReason == .maxNewTokens ? "length" : "stop")
        XCTAssertEqual((object["usage"] as? [String: Int])?["completion_tokens"], result.tokens.count)
    }

    /// Every event is `data: <one JSON chunk>` and a blank line; one id throughout; the role comes first, the
    /// finish_reason only in the last choice chunk, the usage chunk (when asked for) last, then `data: [DONE]`.
    func testStreamFraming() async throws {
        let server = try await RunningServer.start()
        defer { Task { await server.stop() } }
        let request = body(["messages": [["role": "user", "content": "Count to three"]], "stream": true, "seed": 4, "max_tokens": 12,
                            "stream_options": ["include_usage": true]])
        let reply = try server.request("POST", "/v1/chat/completions", body: request)
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.headers["cache-control"], "no-cache")
        let payloads = serverSentEvents(reply.text)
        let chunks = payloads.dropLast().compactMap(jsonObject)
        XCTAssertEqual(chunks.count, payloads.count - 1, "every event before [DONE] is JSON")
        XCTAssertEqual(Set(chunks.compactMap { $0["id"] as? String }).count, 1)
        XCTAssertTrue(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        let choices = chunks.dropLast().map { ($0["choices"] as! [[String: Any]])[0] }
        XCTAssertEqual((choices.first?["delta"] as? [String: Any])?["role"] as? String, "assistant")
        XCTAssertTrue(choices.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        XCTAssertNotNil(choices.last?["finish_reason"] as? String)
        let usage = try XCTUnwrap(chunks.last)
        XCTAssertEqual((usage["choices"] as? [Any])?.count, 0)
        XCTAssertNotNil((usage["usage"] as? [String: Int])?["completion_tokens"])

        let plain = body(["prompt": "abc", "stream": true, "seed": 4, "max_tokens": 5])
        let completion = serverSentEvents(try server.request("POST", "/v1/completions", body: plain).text)
        XCTAssertTrue(completion.dropLast().allSatisfy { jsonObject($0)?["object"] as? String == "text_completion" })
        XCTAssertEqual(streamedText(completion).finish, "length")
    }

    /// Bad requests get OpenAI's error object with the status and the parameter at fault.
    func testErrorsAreOpenAIErrorObjects() async throws {
        let server = try await RunningServer.start(maxBodyBytes: 8192)
        defer { Task { await server.stop() } }
        let user: [[String: Any]] = [["role": "user", "content": "hi"]]
        let cases: [(path: String, body: String, status: Int, param: String?)] = [
            ("/v1/chat/completions", "{\"messages\": [", 400, nil),
            ("/v1/chat/completions", "[1, 2]", 400, nil),
            ("/v1/chat/completions", "{}", 400, "messages"),
            ("/v1/chat/completions", body(["messages": user, "temperature": "hot"]), 400, "temperature"),
            ("/v1/chat/completions", body(["messages": user, "temperature": 2.5]), 400, "temperature"),
            ("/v1/chat/completions", body(["messages": user, "top_p": 0]), 400, "top_p"),
            ("/v1/chat/completions", body(["messages": user, "max_tokens": 0]), 400, "max_tokens"),
            ("/v1/chat/completions", body(["messages": user, "max_tokens": 1.5]), 400, "max_tokens"),
            ("/v1/chat/completions", body(["messages": user, "presence_penalty": -3]), 400, "presence_penalty"),
            ("/v1/chat/completions", body(["messages": user, "seed": -1]), 400, "seed"),
            ("/v1/chat/completions", body(["messages": user, "n": 2]), 400, "n"),
            ("/v1/chat/completions", body(["messages": user, "stream": "yes"]), 400, "stream"),
            ("/v1/chat/completions", body(["messages": user, "stop": ["a", "b", "c", "d", "e"]]), 400, "stop"),
            ("/v1/chat/completions", body(["messages": user, "stop": [""]]), 400, "stop"),
            ("/v1/chat/completions", body(["messages": user, "logit_bias": ["x": 1]]), 400, "logit_bias"),
            ("/v1/chat/completions", body(["messages": user, "logit_bias": ["99999": 1]]), 400, "logit_bias"),
            ("/v1/chat/completions", body(["messages": user, "logit_bias": ["3": 101]]), 400, "logit_bias.3"),
            ("/v1/chat/completions", body(["messages": user, "stop": [String(repeating: "s", count: 1025)]]), 400, "stop"),
            // With the chat markers banned too, banning the rest would leave nothing to sample.
            ("/v1/chat/completions", body(["messages": user, "logit_bias": Dictionary(uniqueKeysWithValues: (Array(0..<508) + [511]).map { (String($0), -100) })]),
             400, "logit_bias"),
            ("/v1/completions", body(["prompt": "a", "logit_bias": Dictionary(uniqueKeysWithValues: (0..<512).map { (String($0), -100) })]),
             400, "logit_bias"),
            ("/v1/chat/completions", body(["messages": [["role": "robot", "content": "hi"]]]), 400, "messages[0].role"),
            ("/v1/chat/completions", body(["messages": [["role": "user", "content": 5]]]), 400, "messages[0].content"),
            ("/v1/chat/completions", body(["messages": [["role": "user", "content": "hi"], ["role": "system", "content": "x"]]]),
             400, "messages[1].role"),
            ("/v1/chat/completions", body(["messages": [["role": "user", "content": String(repeating: "long ", count: 60)]]]),
             400, "messages"),
            ("/v1/completions", body(["prompt": ""]), 400, "prompt"),
            ("/v1/completions", body(["prompt": [1, -2]]), 400, "prompt"),
            ("/v1/completions", body(["prompt": "x", "model": 3]), 400, "model"),
            ("/v1/completions", String(repeating: " ", count: 9000), 413, nil),
            ("/v1/completions", String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000), 400, nil),
            ("/v1/nothing", "{}", 404, nil),
        ]
        for (path, requestBody, status, param) in cases {
            let reply = try server.request("POST", path, body: requestBody)
            XCTAssertEqual(reply.status, status, "\(requestBody.prefix(80)) -> \(reply.text)")
            let error = (reply.json as? [String: Any])?["error"] as? [String: Any]
            XCTAssertNotNil(error?["message"] as? String, reply.text)
            XCTAssertNotNil(error?["type"] as? String, reply.text)
            XCTAssertTrue(error?.keys.contains("code") ?? false, reply.text)
            XCTAssertEqual(error?["param"] as? String, param, "\(requestBody.prefix(80))")
        }
        let long = body(["messages": [["role": "user", "content": String(repeating: "long ", count: 60)]]])
        let tooLong = (try server.request("POST", "/v1/chat/completions", body: long).json as? [String: Any])?["error"] as? [String: Any]
        XCTAssertEqual(tooLong?["code"] as? String, "context_length_exceeded")
        // An oversized body sent in chunks (no Content-Length) is refused the same way.
        let connection = try HTTPConnection(port: server.port)
        try connection.send(HTTPConnection.requestBytes("POST", "/v1/completions", body: Array(repeating: 32, count: 20000), chunked: true))
        XCTAssertEqual(try parseHTTPReply(connection.receiveAll()).status, 413)
        XCTAssertEqual(try server.request("GET", "/health").status, 200)
    }

    func testAPIKeyGuardsTheAPIOnly() async throws {
        let server = try await RunningServer.start(apiKey: "sesame")
        defer { Task { await server.stop() } }
        XCTAssertEqual(try server.request("GET", "/v1/models").status, 401)
        let wrong = try server.request("GET", "/v1/models", headers: ["Authorization": "Bearer sesamf"])
        XCTAssertEqual(wrong.status, 401)
        XCTAssertEqual(((wrong.json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String, "invalid_api_key")
        XCTAssertEqual(try server.request("POST", "/v1/completions", body: "{\"prompt\": \"a\"}").status, 401)
        XCTAssertEqual(try server.request("GET", "/v1/models", headers: ["Authorization": "Bearer sesame"]).status, 200)
        XCTAssertEqual(try server.request("GET", "/health").status, 200)
        XCTAssertEqual(try server.request("GET", "/").status, 200)
    }

    /// With every slot busy and no queue, a request gets 503; a request past its timeout gets 504.
    func testQueueFullAndTimeout() async throws {
        let server = try await RunningServer.start(slots: 1, queue: 0, timeout: 1.5)
        defer { Task { await server.stop() } }
        let busy = try HTTPConnection(port: server.port)
        try busy.send(HTTPConnection.requestBytes("POST", "/v1/completions", body: Array(endless.utf8), headers: ["Content-Type": "application/json"]))
        XCTAssertFalse(busy.receive().isEmpty)
        let refused = try server.request("POST", "/v1/completions", body: "{\"prompt\": \"a\", \"max_tokens\": 2}")
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(((refused.json as? [String: Any])?["error"] as? [String: Any])?["code"] as? String, "queue_full")
        // The endless stream ends at the timeout with an error event and [DONE].
        let rest = String(decoding: busy.receiveAll(), as: UTF8.self)
        XCTAssertTrue(rest.contains("\"code\":\"timeout\""), String(rest.suffix(300)))
        XCTAssertTrue(rest.contains("data: [DONE]\n\n"))
        var whole = jsonObject(endless)!
        whole["stream"] = false
        let timedOut = try server.request("POST", "/v1/completions", body: body(whole))
        XCTAssertEqual(timedOut.status, 504)
    }

    /// A client that hangs up, streaming or not, frees its slot at once for the next request.
    func testDisconnectCancelsTheSequence() async throws {
        let server = try await RunningServer.start(slots: 1, queue: 4)
        defer { Task { await server.stop() } }
        for streaming in [true, false, true, false] {
            var request = jsonObject(endless)!
            request["stream"] = streaming
            let connection = try HTTPConnection(port: server.port)
            try connection.send(HTTPConnection.requestBytes("POST", "/v1/completions", body: Array(body(request).utf8),
                                                            headers: ["Content-Type": "application/json"]))
            if streaming {
                var seen = ""
                while !seen.contains("data: {") { seen += String(decoding: connection.receive(), as: UTF8.self) }
            } else {
                for _ in 0..<100 where try server.running() != 1 { try await Task.sleep(nanoseconds: 50_000_000) }
            }
            XCTAssertEqual(try server.running(), 1)
            shutdown(connection.descriptor, Int32(SHUT_RDWR))
            var running = 1
            for _ in 0..<100 where running != 0 {
                try await Task.sleep(nanoseconds: 50_000_000)
                running = try server.running()
            }
            XCTAssertEqual(running, 0, "the cancelled sequence still runs (streaming: \(streaming))")
        }
        let after = try server.request("POST", "/v1/completions", body: "{\"prompt\": \"a\", \"max_tokens\": 3}")
        XCTAssertEqual(after.status, 200)
    }

    /// 16 streams at once over 16 slots all finish, each with the text its request gives alone; with row-by-row
    /// batching exactly, with matrix batching (rounding may differ in the last bits) each at least completes.
    func testSixteenConcurrentStreams() async throws {
        for batching in [BatchedDecoding.rowByRow, .matrix] {
            let server = try await RunningServer.start(slots: 16, queue: 16, batching: batching)
            let tokenizer = assistant.tokenizer
            let prompts = (0..<16).map { "The letters \(["a", "b", "c", "d"][$0 % 4]) \($0)" }
            let expected = try prompts.enumerated().map { index, prompt in
                try TextGenerator(model: assistant.model).generate(
                    prompt: try tokenizer.encode(prompt), sampling: SamplingConfig(temperature: 0.8, seed: UInt64(index)),
                    stop: StopCondition(maxNewTokens: 40, endOfTextID: tokenizer.endOfTextID), tokenizer: tokenizer) { _ in }
            }
            let replies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, prompt) in prompts.enumerated() {
                    let port = server.port
                    group.addTask {
                        let request = body(["prompt": prompt, "temperature": 0.8, "seed": index, "max_tokens": 40, "stream": true])
                        let reply = try await Task.detached { try httpRequest(port: port, "POST", "/v1/completions", body: request) }.value
                        return (index, reply.text)
                    }
                }
                var all = [String](repeating: "", count: prompts.count)
                for try await (index, text) in group { all[index] = text }
                return all
            }
            for (index, raw) in replies.enumerated() {
                let (text, finish) = streamedText(serverSentEvents(raw))
                XCTAssertNotNil(finish, "stream \(index) did not finish")
                if batching == .rowByRow {
                    XCTAssertEqual(text, String(decoding: expected[index].text, as: UTF8.self), "stream \(index)")
                }
            }
            await server.stop()
        }
    }

    /// Randomly damaged request bodies never crash the server: each gets a well-formed reply.
    func testMutatedBodiesGetWellFormedReplies() async throws {
        let server = try await RunningServer.start(slots: 2, queue: 8, timeout: 2)
        defer { Task { await server.stop() } }
        let seeds = [
            body(["messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "hi"]], "max_tokens": 4,
                  "temperature": 0.5, "stop": ["x"], "logit_bias": ["3": -100], "seed": 1]),
            body(["prompt": "abc", "max_tokens": 3, "top_p": 0.5, "stream": true, "stream_options": ["include_usage": true]]),
        ]
        var mutator = Mutator(seed: 2026)
        for iteration in 0..<120 {
            let path = iteration % 2 == 0 ? "/v1/chat/completions" : "/v1/completions"
            let mutated = mutator.mutate(Data(seeds[iteration % 2].utf8))
            let connection = try HTTPConnection(port: server.port)
            try connection.send(HTTPConnection.requestBytes("POST", path, body: Array(mutated), headers: ["Content-Type": "application/json"]))
            let reply = try parseHTTPReply(connection.receiveAll())
            XCTAssertTrue([200, 400, 413, 504].contains(reply.status), "\(reply.status): \(reply.text.prefix(200))")
            if reply.status != 200 {
                XCTAssertNotNil((reply.json as? [String: Any])?["error"], reply.text)
            }
        }
        XCTAssertEqual(try server.request("GET", "/health").status, 200)
    }
}
