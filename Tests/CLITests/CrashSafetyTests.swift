import Core
import Foundation
import Model
import TestSupport
import XCTest

/// Starts the built `minigpt` without waiting; output goes to files so a killed child never blocks on a pipe.
func startMinigpt(_ arguments: [String], logDirectory: String) throws -> Process {
    let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let process = Process()
    process.executableURL = runner.deletingLastPathComponent().appendingPathComponent("minigpt")
    process.arguments = arguments
    let stdout = logDirectory + "/stdout.txt", stderr = logDirectory + "/stderr.txt"
    _ = FileManager.default.createFile(atPath: stdout, contents: nil)
    _ = FileManager.default.createFile(atPath: stderr, contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: stdout)
    process.standardError = FileHandle(forWritingAtPath: stderr)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
}

final class CrashSafetyTests: XCTestCase {
    let corpus = String(repeating: "to be or not to be, that is the question. whether 'tis nobler in the mind to suffer. ", count: 20)

    func trainArguments(corpus: String, run: String, steps: Int) -> [String] {
        ["--corpus", corpus, "--layers", "1", "--heads", "2", "--width", "16", "--context", "16", "--batch", "2",
         "--steps", "\(steps)", "--warmup", "2", "--eval-every", "10", "--eval-batches", "1", "--save-every", "1",
         "--threads", "1", "--out", run]
    }

    /// (step, train loss) of every line of a run's metrics log.
    func metrics(_ run: String) throws -> [(Int, Double)] {
        try TextFile.read(run + "/metrics.jsonl").split(separator: "\n").map { line in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (try XCTUnwrap(object["step"] as? Int), try XCTUnwrap(object["train_loss"] as? Double))
        }
    }

    /// SIGKILL at random moments (seeded; most land inside a checkpoint write, which is most of each step
    /// here): after every kill the run directory loads, `--resume` continues, and the finished run has the
    /// losses and weights of a run never interrupted. Each life is killed only after it has committed a new
    /// checkpoint, then within about one step: a kill timed from the clock alone let the run finish in one life
    /// when the machine's load dropped after the reference run, or never get going when it rose.
    func testSigkillAtRandomMomentsLosesNothing() throws {
        let directory = TemporaryDirectory()
        let corpusPath = directory.write(corpus, to: "corpus.txt")
        let steps = 40
        let reference = directory.file("reference")
        let started = Date()
        let whole = try runMinigpt(["train"] + trainArguments(corpus: corpusPath, run: reference, steps: steps))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        // About one step's time on this machine (fsync dominates).
        let stepTime = max(Date().timeIntervalSince(started), 0.2) / Double(steps)

        let run = directory.file("killed")
        func checkpointStep() -> Int { ((try? Checkpoints.readPointer(runDirectory: run)) ?? nil)?.step ?? 0 }
        var generator = SeededGenerator(seed: 2024)
        var kills = 0, loadsChecked = 0, killsDuringCheckpointWrite = 0
        let deadline = Date().addingTimeInterval(120)
        while kills < 12 && Date() < deadline {
            let hasCheckpoint = FileManager.default.fileExists(atPath: run + "/" + Checkpoints.pointerFile)
            let arguments = ["train"] + trainArguments(corpus: corpusPath, run: run, steps: steps) + (hasCheckpoint ? ["--resume", run] : [])
            let stepBefore = checkpointStep()
            let child = try startMinigpt(arguments, logDirectory: directory.path)
            while child.isRunning && checkpointStep() <= stepBefore && Date() < deadline { usleep(1_000) }
            usleep(UInt32(generator.nextDouble() * stepTime * 1e6))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            if child.terminationReason == .exit {
                XCTAssertEqual(child.terminationStatus, 0, (try? TextFile.read(directory.file("stderr.txt"), allowEmpty: true)) ?? "")
                break  // finished before the kill
            }
            kills += 1
            let pointed = (try? Checkpoints.readPointer(runDirectory: run))??.step ?? -1
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: run + "/" + Checkpoints.subdirectory)) ?? []
            if entries.contains(where: { $0.hasPrefix(".staging") || $0 > Checkpoints.directoryName(step: pointed) }) {
                killsDuringCheckpointWrite += 1
            }
            if FileManager.default.fileExists(atPath: run + "/" + Checkpoints.pointerFile) {
                XCTAssertNoThrow(try ModelDirectory.load(run), "after kill \(kills)")
                loadsChecked += 1
            }
        }
        print("SIGKILL test: \(kills) kills, \(killsDuringCheckpointWrite) left a checkpoint half-written, \(loadsChecked) loads checked")
        XCTAssertGreaterThan(kills, 3)
        XCTAssertGreaterThan(loadsChecked, 0)
        if FileManager.default.fileExists(atPath: run + "/" + Checkpoints.pointerFile) {
            let finished = try runMinigpt(["train"] + trainArguments(corpus: corpusPath, run: run, steps: steps) + ["--resume", run])
            XCTAssertEqual(finished.status, 0, finished.stderr)
        } else {
            let finished = try runMinigpt(["train"] + trainArguments(corpus: corpusPath, run: run, steps: steps))
            XCTAssertEqual(finished.status, 0, finished.stderr)
        }
        let expected = try metrics(reference), seen = try metrics(run)
        XCTAssertEqual(seen.map(\.0), Array(1...steps), "every step logged once")
        XCTAssertEqual(seen.map(\.1), expected.map(\.1), "the same losses as the uninterrupted run")
        let (a, _) = try ModelDirectory.load(reference), (b, _) = try ModelDirectory.load(run)
        XCTAssertEqual(a.parameters.array, b.parameters.array)
        // Only the current and the previous checkpoint are kept.
        let kept = try FileManager.default.contentsOfDirectory(atPath: run + "/" + Checkpoints.subdirectory).sorted()
        XCTAssertEqual(kept, [Checkpoints.directoryName(step: steps - 1), Checkpoints.directoryName(step: steps)])
    }

    /// SIGINT and SIGTERM: a checkpoint of the step reached, a message, status 128 + signal, and a resumable run.
    func testInterruptSavesAndExitsCleanly() throws {
        let directory = TemporaryDirectory()
        let corpusPath = directory.write(corpus, to: "corpus.txt")
        for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let run = directory.file("run-\(name)")
            var arguments = ["train"] + trainArguments(corpus: corpusPath, run: run, steps: 100_000)
            arguments[arguments.firstIndex(of: "--save-every")! + 1] = "0"
            arguments[arguments.firstIndex(of: "--eval-every")! + 1] = "100000"
            let child = try startMinigpt(arguments, logDirectory: directory.path)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, ((try? metrics(run).count) ?? 0) < 3 { usleep(10_000) }
            kill(child.processIdentifier, signal)
            child.waitUntilExit()
            let stderr = try TextFile.read(directory.file("stderr.txt"), allowEmpty: true)
            XCTAssertEqual(child.terminationReason, .exit, stderr)
            XCTAssertEqual(child.terminationStatus, 128 + signal, stderr)
            XCTAssertTrue(stderr.contains("\(name): stopped after step"), stderr)
            let pointer = try XCTUnwrap(try Checkpoints.readPointer(runDirectory: run))
            XCTAssertGreaterThanOrEqual(pointer.step, 3)
            XCTAssertTrue(stderr.contains("stopped after step \(pointer.step) "), stderr)
            XCTAssertEqual(try metrics(run).last?.0, pointer.step)
            XCTAssertNoThrow(try ModelDirectory.load(run))
        }
    }
}
