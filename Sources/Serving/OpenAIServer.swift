import Foundation
import Generation
import Hummingbird
import Logging
import Model
import Tokenizers

/// Where and how `OpenAIServer` listens.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// When set, /v1/ requests need `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// The id /v1/models lists and responses echo.
    public var modelName: String
    public var maxBodyBytes: Int
    public var limits: GenerationService.Limits

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, modelName: String,
                maxBodyBytes: Int = 1 << 20, limits: GenerationService.Limits) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.modelName = modelName
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
    }
}

/// The OpenAI-compatible HTTP server: GET /health, GET /v1/models, POST /v1/completions,
/// POST /v1/chat/completions (JSON, or server-sent events with `"stream": true`), and the chat page at /.
/// Request bodies are parsed by `RequestParser`; generation runs on the `GenerationService`'s engine thread.
public final class OpenAIServer: Sendable {
    public let settings: ServerSettings
    let parser: RequestParser
    let service: GenerationService

    public init(engine: InferenceEngine, tokenizer: any Tokenizer, settings: ServerSettings) throws {
        self.settings = settings
        parser = RequestParser(tokenizer: tokenizer, config: engine.config)
        service = try GenerationService(engine: engine, tokenizer: tokenizer, limits: settings.limits)
    }

    /// Serves until SIGTERM or SIGINT (with `handleSignals`) or until the calling task is cancelled. On a
    /// signal the listener closes, requests in flight finish (each bounded by the timeout), and it returns.
    /// `onReady` receives the base URL (with the real port when `settings.port` is 0) once it listens.
    public func run(handleSignals: Bool, onReady: @escaping @Sendable (String) -> Void) async throws {
        service.start()
        defer { service.shutdown() }
        var logger = Logger(label: "minigpt-serve", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let host = settings.host
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(host, port: settings.port), serverName: "minigpt"),
            onServerRunning: { channel in
                let shown = host.contains(":") ? "[\(host)]" : host
                onReady("http://\(shown):\(channel.localAddress?.port ?? 0)")
            },
            logger: logger)
        if handleSignals { try await app.runService() } else { try await app.run() }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(apiKey: settings.apiKey))
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: ChatPage.html)))
        }
        router.get("/health") { [service] _, _ in
            let load = service.load
            return Self.json(.object([("status", .string("ok")), ("slots", .int(service.limits.slots)),
                                      ("running", .int(load.running)), ("waiting", .int(load.waiting))]))
        }
        router.get("/v1/models") { [settings] _, _ in
            Self.json(.object([("object", .string("list")), ("data", .array([.object([
                ("id", .string(settings.modelName)), ("object", .string("model")), ("created", .int(0)),
                ("owned_by", .string("minigpt")),
            ])]))]))
        }
        router.post("/v1/completions") { [self] request, _ in try await self.complete(request, kind: .completion) }
        router.post("/v1/chat/completions") { [self] request, _ in try await self.complete(request, kind: .chat) }
        return router
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.serialized)))
    }

    static func error(_ error: APIError) -> Response {
        json(error.json, status: HTTPResponse.Status(code: error.status))
    }

    /// Reads the body (cancelled if the client goes away meanwhile), parses it, queues it and answers.
    private func complete(_ request: Request, kind: CompletionJob.Kind) async throws -> Response {
        let limit = settings.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            return Self.error(.tooLarge(limit: limit))
        }
        return try await request.body.consumeWithCancellationOnInboundClose { body in
            var bytes = ByteBuffer()
            for try await part in body {
                guard bytes.readableBytes + part.readableBytes <= limit else { return Self.error(.tooLarge(limit: limit)) }
                var part = part
                bytes.writeBuffer(&part)
            }
            let job: CompletionJob
            let updates: AsyncStream<GenerationUpdate>
            do {
                let data = Data(buffer: bytes)
                job = kind == .chat ? try parser.chat(data) : try parser.completion(data)
                updates = try service.submit(job.request)
            } catch let error as APIError {
                return Self.error(error)
            }
            let reply = ReplyFormat(kind: kind, model: settings.modelName)
            return job.stream ? Self.streamed(reply, job: job, updates: updates) : await Self.whole(reply, updates: updates)
        }
    }

    /// Waits for the whole reply; the task's cancellation (the client left) ends `updates` and so the sequence.
    private static func whole(_ reply: ReplyFormat, updates: AsyncStream<GenerationUpdate>) async -> Response {
        var text = ""
        for await update in updates {
            switch update {
            case .text(let piece): text += piece
            case .finished(let completion): return json(reply.whole(text: text, completion: completion))
            case .failed(let error): return Self.error(error)
            }
        }
        return Self.error(.internalError("the request was cancelled"))
    }

    /// Server-sent events: one `data: {chunk}` per piece of text, a last chunk with finish_reason, the usage
    /// chunk when asked for, then `data: [DONE]`. A failed write (the client left) ends `updates` and the sequence.
    private static func streamed(_ reply: ReplyFormat, job: CompletionJob, updates: AsyncStream<GenerationUpdate>) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                 body: ResponseBody { writer in
                     if reply.kind == .chat { try await writer.write(ServerSentEvents.event(reply.chunk(role: true, text: "", finish: nil))) }
                     for await update in updates {
                         switch update {
                         case .text(let piece):
                             try await writer.write(ServerSentEvents.event(reply.chunk(role: false, text: piece, finish: nil)))
                         case .finished(let completion):
                             try await writer.write(ServerSentEvents.event(reply.chunk(role: false, text: "", finish: completion.finishReason)))
                             if job.includeUsage { try await writer.write(ServerSentEvents.event(reply.usageChunk(completion))) }
                         case .failed(let error):
                             try await writer.write(ServerSentEvents.event(error.json))
                         }
                     }
                     try await writer.write(ServerSentEvents.done)
                     try await writer.finish(nil)
                 })
    }
}

/// The framing of a server-sent event stream as OpenAI writes it.
public enum ServerSentEvents {
    public static func event(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: "data: \(value.serialized)\n\n") }
    public static let done = ByteBuffer(string: "data: [DONE]\n\n")
}

/// Every error leaves as an OpenAI error object, including the router's own 404 and 405.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return OpenAIServer.error(error)
        } catch let error as HTTPError {
            let message = error.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path)" : "\(error.status)"
            return OpenAIServer.error(APIError(status: error.status.code, message: message, type: "invalid_request_error"))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return OpenAIServer.error(.internalError("\(error)"))
        }
    }
}

/// With an API key, everything under /v1/ needs `Authorization: Bearer <key>` (the page and /health do not).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let apiKey: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let apiKey, request.uri.path.hasPrefix("/v1/") else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        // Compared in full, not stopping at the first difference, so timing does not reveal the key.
        let expected = Array("Bearer \(apiKey)".utf8), actual = Array(given.utf8)
        var difference = expected.count ^ actual.count
        for index in expected.indices { difference |= Int(expected[index] ^ (index < actual.count ? actual[index] : 0)) }
        guard difference == 0 else { return OpenAIServer.error(.unauthorized) }
        return try await next(request, context)
    }
}
