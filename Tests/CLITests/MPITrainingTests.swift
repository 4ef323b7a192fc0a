import Foundation
import Model
import TestSupport
import XCTest

/// `mpirun -np 2 minigpt train` on this machine, against the binary built with `--traits MPI` that
/// MINIGPT_MPI_BINARY names (.ci/run builds it); skipped when it is not given.
final class MPITrainingTests: XCTestCase {
    var binary = ""
    let shape = ["--layers", "2", "--heads", "2", "--width", "32", "--context", "32", "--batch", "4", "--eval-batches", "3",
                 "--grad-accum", "2"]

    override func setUpWithError() throws {
        guard let path = ProcessInfo.processInfo.environment["MINIGPT_MPI_BINARY"], !path.isEmpty else {
            throw XCTSkip("MINIGPT_MPI_BINARY is not set (build with `swift build -c release --traits MPI` and point it at the binary)")
        }
        binary = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    var corpus: String { packageRoot() + "/Corpora/song100.txt" }

    /// Two ranks of one thread each reproduce one process of two threads bit for bit: the same rows go to
    /// the same shard and a sum of two floats does not depend on its order. Only rank 0 wrote the log.
    func testTwoRanksReproduceOneProcessOfTwoThreads() throws {
        let directory = TemporaryDirectory()
        let arguments = ["train", "--corpus", corpus] + shape + ["--steps", "12", "--eval-every", "6"]
        let single = try launch(binary, arguments + ["--threads", "2", "--out", directory.file("one")])
        XCTAssertEqual(single.status, 0, single.stderr)
        let ranks = try launch(mpirun, ["-np", "2", binary] + arguments + ["--out", directory.file("two")])
        XCTAssertEqual(ranks.status, 0, ranks.stderr)
        XCTAssertTrue(ranks.stderr.contains("2 processes x 1 threads"), ranks.stderr)
        XCTAssertEqual(ranks.stderr.components(separatedBy: "model: ").count, 2, "one rank reports: \(ranks.stderr)")
        let one = try metrics(directory.file("one")), two = try metrics(directory.file("two"))
        XCTAssertEqual(one.count, 12)
        for key in ["train_loss", "val_loss", "grad_norm", "lr"] {
            XCTAssertEqual(one.map { $0[key] as? Double }, two.map { $0[key] as? Double }, key)
        }
        let weights = "/checkpoints/step-00000012/" + ModelDirectory.weightsFile
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory.file("one") + weights)),
                       try Data(contentsOf: URL(fileURLWithPath: directory.file("two") + weights)))
    }

    /// SIGKILL on rank 1 ends the whole job within seconds with a non-zero status; the last complete
    /// checkpoint loads, and --resume under mpirun finishes the run from it.
    func testKilledRankEndsTheJobAndTheRunResumes() throws {
        let directory = TemporaryDirectory()
        let out = directory.file("run")
        let arguments = ["train", "--corpus", corpus] + shape + ["--steps", "4000", "--eval-every", "4000", "--save-every", "2", "--out", out]
        let job = try start(mpirun, ["-np", "2", binary] + arguments)
        let deadline = Date().addingTimeInterval(120)
        while (try? Checkpoints.readPointer(runDirectory: out))??.step ?? 0 < 4, Date() < deadline { usleep(50_000) }
        let rank1 = try XCTUnwrap(rankProcess(1, commandContains: out), "rank 1 not found")
        let killed = Date()
        kill(rank1, SIGKILL)
        let ended = job.wait(seconds: 30)
        XCTAssertTrue(ended, "the job still runs 30 s after a rank was killed")
        XCTAssertLessThan(Date().timeIntervalSince(killed), 15)
        XCTAssertNotEqual(job.process.terminationStatus, 0)
        let saved = try XCTUnwrap(try Checkpoints.readPointer(runDirectory: out)).step
        XCTAssertGreaterThanOrEqual(saved, 4)
        _ = try ModelDirectory.load(out)
        let resumed = try launch(mpirun, ["-np", "2", binary, "train", "--corpus", corpus, "--resume", out, "--steps", "4000"],
                                 stopAfterSteps: saved + 4)
        XCTAssertTrue(resumed.stderr.contains("resuming \(out) at step \(saved)"), resumed.stderr)
    }

    /// Ranks given different corpora stop before the first step with one error naming what differs.
    func testRanksThatDisagreeAreRefused() throws {
        let directory = TemporaryDirectory()
        let other = directory.write(String(repeating: "a different corpus, long enough to train a little model on. ", count: 40), to: "other.txt")
        let common = shape + ["--steps", "4", "--out", directory.file("run")]
        let result = try launch(mpirun, ["-np", "1", binary, "train", "--corpus", corpus] + common
                                + [":", "-np", "1", binary, "train", "--corpus", other] + common)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertEqual(result.stderr.components(separatedBy: "Error (rank").count, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("Error (rank 0 of 2): the training processes disagree on the corpus"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("run/" + Checkpoints.pointerFile)))
    }

    // MARK: - Processes

    var mpirun: String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/mpirun") { return "\(directory)/mpirun" }
        return "/usr/bin/mpirun"
    }

    final class Job {
        let process = Process()
        let output = Pipe(), errors = Pipe()
        let done = DispatchSemaphore(value: 0)
        func wait(seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
    }

    func start(_ executable: String, _ arguments: [String]) throws -> Job {
        let job = Job()
        job.process.executableURL = URL(fileURLWithPath: executable)
        job.process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        // CI runs as root, which Open MPI refuses unless told.
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        job.process.environment = environment
        job.process.standardOutput = job.output
        job.process.standardError = job.errors
        job.process.terminationHandler = { [done = job.done] _ in done.signal() }
        try job.process.run()
        return job
    }

    /// Runs to the end (or, with `stopAfterSteps`, until the run's checkpoint reaches that step, then
    /// SIGTERM through mpirun) and returns status and output.
    func launch(_ executable: String, _ arguments: [String], stopAfterSteps: Int? = nil) throws -> (status: Int32, stderr: String) {
        let job = try start(executable, arguments)
        let errors = job.errors.fileHandleForReading
        let collected = ResultText()
        let reader = Thread { collected.text = String(decoding: errors.readDataToEndOfFile(), as: UTF8.self) }
        reader.start()
        if let stopAfterSteps, let out = arguments.firstIndex(of: "--resume").map({ arguments[$0 + 1] }) {
            let deadline = Date().addingTimeInterval(120)
            while (try? Checkpoints.readPointer(runDirectory: out))??.step ?? 0 < stopAfterSteps, Date() < deadline { usleep(50_000) }
            job.process.terminate()
        }
        XCTAssertTrue(job.wait(seconds: 180), "\(arguments) did not end")
        while !collected.done { usleep(10_000) }
        return (job.process.terminationStatus, collected.text)
    }

    /// The pid of the rank `rank` whose command line mentions `fragment`, found through /proc.
    func rankProcess(_ rank: Int, commandContains fragment: String) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                  let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline")),
                  let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/environ")) else { continue }
            let words = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if words.first?.hasSuffix("minigpt") == true, words.contains(fragment), variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") {
                return pid
            }
        }
        return nil
    }

    func metrics(_ run: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }
}

final class ResultText: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    private var finished = false
    var text: String {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue; finished = true } }
    }
    var done: Bool { lock.withLock { finished } }
}
