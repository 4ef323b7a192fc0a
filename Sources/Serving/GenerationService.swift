import Foundation
import Generation
import Model
import Tokenizers

/// What a submitted request receives, in order: text pieces (whole characters), then one `finished` or `failed`.
public enum GenerationUpdate: Equatable, Sendable {
    case text(String)
    case finished(Completion)
    case failed(APIError)

    public struct Completion: Equatable, Sendable {
        /// OpenAI's finish_reason: "length" when max_tokens ended it, else "stop".
        public var finishReason: String
        public var promptTokens: Int
        /// Every sampled token, including an end marker or the token that completed a stop string.
        public var completionTokens: Int
    }
}

/// Runs a `ContinuousBatcher` on a thread of its own and feeds it from a bounded queue.
///
/// `submit` places a request in the queue (503 when `queueLimit` requests already wait) and returns the
/// stream of its updates; the engine thread admits waiting requests into free slots between steps (each
/// prefilled on admission), then steps every active sequence once, and sends each its new text. Ending the
/// update stream (the client went away, the HTTP task was cancelled) cancels the sequence, which leaves
/// the batch at the next step. A request still waiting or running `timeout` seconds after it was submitted
/// fails with a 504 error. All model work happens on the engine thread, so the HTTP side never blocks on it.
public final class GenerationService: @unchecked Sendable {
    public struct Limits: Sendable {
        public var slots: Int
        public var queueLimit: Int
        public var timeout: Double
        public init(slots: Int, queueLimit: Int, timeout: Double) {
            self.slots = slots
            self.queueLimit = queueLimit
            self.timeout = timeout
        }
    }

    private final class Job {
        let id: Int
        let request: GenerationRequest
        let deadline: Date
        let continuation: AsyncStream<GenerationUpdate>.Continuation
        var decoder = StreamingUTF8Decoder()

        init(id: Int, request: GenerationRequest, deadline: Date, continuation: AsyncStream<GenerationUpdate>.Continuation) {
            self.id = id
            self.request = request
            self.deadline = deadline
            self.continuation = continuation
        }

        func fail(_ error: APIError) {
            continuation.yield(.failed(error))
            continuation.finish()
        }
    }

    public let limits: Limits
    private let batcher: ContinuousBatcher
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var waiting: [Job] = []
    private var cancelled: Set<Int> = []
    private var nextID = 0
    private var stopping = false
    private var stopped = false
    // Touched by the engine thread only:
    private var running: [Int: Job] = [:]

    public init(engine: InferenceEngine, tokenizer: any Tokenizer, limits: Limits) throws {
        self.limits = limits
        batcher = try ContinuousBatcher(engine: engine, tokenizer: tokenizer, slots: limits.slots)
    }

    /// Starts the engine thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "minigpt-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Fails whatever is still waiting or running with 503 and stops the engine thread; returns once it has.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    /// Queues `request`; throws 503 when the queue is full or the service is stopping.
    public func submit(_ request: GenerationRequest) throws(APIError) -> AsyncStream<GenerationUpdate> {
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationUpdate.self)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw APIError.shuttingDown }
        // Free slots take requests at once; beyond them, up to `queueLimit` wait.
        guard waiting.count + runningCount < limits.slots + limits.queueLimit else {
            throw APIError.busy(queued: max(0, waiting.count + runningCount - limits.slots))
        }
        let id = nextID
        nextID += 1
        waiting.append(Job(id: id, request: request, deadline: Date().addingTimeInterval(limits.timeout), continuation: continuation))
        continuation.onTermination = { [weak self] _ in self?.cancel(id) }
        condition.signal()
        return stream
    }

    /// Requests waiting for a slot and sequences decoding now (for /health).
    public var load: (waiting: Int, running: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (waiting.count, runningCount)
    }
    private var runningCount = 0  // running.count as of the last step (plus admissions since), guarded by `condition`

    private func cancel(_ id: Int) {
        condition.lock()
        if let index = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: index)
        } else {
            cancelled.insert(id)
        }
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while !stopping && waiting.isEmpty && running.isEmpty && cancelled.isEmpty { condition.wait() }
            if stopping {
                let left = waiting + Array(running.values)
                waiting.removeAll()
                running.removeAll()
                condition.unlock()
                // Outside the lock: ending a stream calls `cancel`, which takes it.
                for job in left { job.fail(.shuttingDown) }
                condition.lock()
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let dropped = cancelled
            cancelled.removeAll()
            condition.unlock()
            for id in dropped where running.removeValue(forKey: id) != nil { batcher.cancel(id: id) }

            condition.lock()
            let now = Date()
            let expired = waiting.filter { $0.deadline < now }
            waiting.removeAll { $0.deadline < now }
            let admitted = Array(waiting.prefix(batcher.freeSlots))
            waiting.removeFirst(admitted.count)
            runningCount += admitted.count
            condition.unlock()
            for job in expired { job.fail(.timeout(seconds: limits.timeout)) }
            for job in admitted { admit(job) }
            for job in running.values where job.deadline < now { finish(job, with: .failed(.timeout(seconds: limits.timeout))) }
            if !running.isEmpty { step() }
            condition.lock()
            runningCount = running.count
            condition.unlock()
        }
    }

    private func admit(_ job: Job) {
        do {
            try batcher.admit(id: job.id, request: job.request)
            running[job.id] = job
        } catch {
            job.fail(.invalid("\(error)"))
        }
    }

    private func step() {
        let events: [ContinuousBatcher.Event]
        do { events = try batcher.step() } catch {
            for job in running.values { finish(job, with: .failed(.internalError("generation failed: \(error)"))) }
            return
        }
        for event in events {
            guard let job = running[event.id] else { continue }
            let piece = job.decoder.feed(event.emit)
            if !piece.isEmpty { job.continuation.yield(.text(piece)) }
            guard let reason = event.finished else { continue }
            let rest = job.decoder.flush()
            if !rest.isEmpty { job.continuation.yield(.text(rest)) }
            finish(job, with: .finished(.init(finishReason: reason == .maxNewTokens ? "length" : "stop",
                                              promptTokens: job.request.prompt.count, completionTokens: event.generatedTokens)))
        }
    }

    /// Ends `job` with its last update and frees its slot (a no-op for the batcher when it already stopped).
    private func finish(_ job: Job, with update: GenerationUpdate) {
        batcher.cancel(id: job.id)
        running[job.id] = nil
        job.continuation.yield(update)
        job.continuation.finish()
    }
}
