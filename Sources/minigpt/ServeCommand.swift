import ArgumentParser
import Dispatch
import Foundation
import Model
import Serving
import Synchronization

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API, with a chat page at /.",
        discussion: """
        Endpoints: GET /health, GET /v1/models, POST /v1/completions, POST /v1/chat/completions ("stream": true \
        gives server-sent events), and a chat page at /. Up to --parallel requests decode together, one token \
        each per batched step (continuous batching); up to --queue more wait, beyond that the answer is 503. \
        SIGTERM or SIGINT stops accepting, lets requests in flight finish, and exits 0. See docs/serving.md.
        """
    )

    @Option(help: "Model directory (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "Address to listen on; 0.0.0.0 exposes the server to the network.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(help: "Sequences decoded together (slots).") var parallel = 8
    @Option(help: "Requests that may wait for a slot before new ones get 503.") var queue = 64
    @Option(help: "When set, /v1/ requests need 'Authorization: Bearer KEY'.") var apiKey: String?
    @Option(help: "Seconds a request may wait and run before it fails with 504.") var timeout: Double = 300
    @Option(help: "Largest request body in bytes (larger ones get 413).") var maxBodyBytes = 1 << 20
    @Option(help: "How a step multiplies its rows by the weights: matrix (one matrix-matrix product, weights read once per step) or rows (one matrix-vector product per row: every sequence bit for bit as if alone).")
    var batching: BatchedDecoding = .matrix
    @OptionGroup var decode: DecodeOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard (1...1024).contains(parallel) else { throw ValidationError("--parallel must be in 1...1024, got \(parallel)") }
        guard queue >= 0 else { throw ValidationError("--queue must not be negative, got \(queue)") }
        guard timeout.isFinite, timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024, got \(maxBodyBytes)") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
        guard !host.isEmpty else { throw ValidationError("--host must not be empty") }
    }

    func run() throws {
        try threadOptions.apply()
        let (gpt, tokenizer) = try ModelDirectory.load(model)
        let engine = try decode.engine(for: gpt)
        engine.batchedDecoding = batching
        let name = URL(fileURLWithPath: model).standardizedFileURL.lastPathComponent
        let settings = ServerSettings(host: host, port: port, apiKey: apiKey, modelName: name, maxBodyBytes: maxBodyBytes,
                                      limits: .init(slots: parallel, queueLimit: queue, timeout: timeout))
        let server = try OpenAIServer(engine: engine, tokenizer: tokenizer, settings: settings)
        let slots = parallel
        let listening = ListeningFlag()
        do {
            try runBlocking {
                try await server.run(handleSignals: true) { url in
                    listening.value.store(true, ordering: .relaxed)
                    Console.status("minigpt serve: \(name) on \(url) (\(slots) slots)")
                    Console.status("  chat page: \(url)/   API: \(url)/v1/chat/completions   stop: Ctrl-C")
                }
            }
        } catch where !listening.value.load(ordering: .relaxed) {
            throw ListenError(message: "cannot listen on \(host):\(port): \(error)")
        }
        Console.status("minigpt serve: stopped")
    }
}

extension BatchedDecoding: ExpressibleByArgument {}

struct ListenError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Set once the server listens: an error before that is a failure to bind.
private final class ListeningFlag: Sendable { let value = Atomic<Bool>(false) }

/// Runs async work from the synchronous CLI: the main thread waits while the task runs on the cooperative pool.
private func runBlocking(_ work: @escaping @Sendable () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable { var error: (any Error)? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { try await work() } catch { outcome.error = error }
        done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
}
