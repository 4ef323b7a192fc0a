import Core
import Foundation
import TestSupport
import XCTest

/// Seeded fuzzing of the command line: for every subcommand `minigpt --experimental-dump-help` lists, a cheap
/// valid argument vector is mutated with values from each option's domain and with hostile values (0, -1,
/// huge, 2^63-1, nan, inf, 1e-39, empty, non-numeric, directories, missing and unwritable paths, /dev/full),
/// and the built binary is run with a timeout. Every run must end by itself, below status 128 (no trap,
/// abort or signal), with at most one `Error:` line. Bounded for CI (`MINIGPT_CLI_FUZZ_CASES`, default 300);
/// raise it for a longer campaign offline (`MINIGPT_CLI_FUZZ_SEED` draws other vectors). A failure prints the
/// case's argument vector: add it to `regressions` once it is fixed. `STDIN<path` and `STDOUT>path` in a
/// vector redirect the streams.
final class CommandLineFuzzTests: XCTestCase {
    #if DEBUG
    // A debug binary is about 50x slower in the kernels (train's peak probe alone takes half a minute).
    static let defaultCases = 30
    static let timeout: TimeInterval = 300
    #else
    static let defaultCases = 300
    static let timeout: TimeInterval = 60
    #endif
    static let cases = ProcessInfo.processInfo.environment["MINIGPT_CLI_FUZZ_CASES"].flatMap(Int.init) ?? defaultCases
    static let seed = ProcessInfo.processInfo.environment["MINIGPT_CLI_FUZZ_SEED"].flatMap(UInt64.init) ?? 23

    /// Commands that serve until stopped, flags that wait on the machine rather than on input, and time
    /// budgets (a long budget is a long run, not a hang).
    static let skippedCommands: Set<String> = ["help", "serve"]
    static let skippedOptions: Set<String> = ["--wait-for-quiet", "--seconds", "--probe-seconds"]
    /// The alignment commands are being restructured (issue 25): their failures are reported as known
    /// failures, not test failures, unless MINIGPT_CLI_FUZZ_STRICT=1.
    static let alignmentCommands: Set<String> = ["sft", "reward train", "reward score", "ppo", "dpo", "pipeline", "judge", "data instruct"]
    static let strict = ProcessInfo.processInfo.environment["MINIGPT_CLI_FUZZ_STRICT"] == "1"

    /// Inputs found to trap, abort or hang before they were fixed; {name} is replaced by a fixture path.
    static let regressions: [[String]] = [
        ["train", "--corpus", "{corpus}", "--width", "1000000000", "--heads", "1", "--out", "{out}"],
        ["train", "--corpus", "{corpus}", "--batch", "100000000", "--out", "{out}"],
        ["train", "--corpus", "{corpus}", "--grad-clip", "inf", "--out", "{out}"],
        ["train", "--corpus", "{corpus}", "--tokenizer", "{gpt2}", "--out", "{out}", "--steps", "1", "--context", "8",
         "--layers", "1", "--width", "8", "--heads", "1", "--batch", "1", "--eval-every", "1", "--eval-batches", "1"],
        ["generate", "--model", "{model}", "--temperature", "1e-39", "--max-new-tokens", "4"],
        ["generate", "--model", "{model}", "--max-new-tokens", "9223372036854775807"],
        ["generate", "--model", "{model}", "--threads", "100000", "--max-new-tokens", "2"],
        ["generate", "--model", "{model}", "--temperature", "0"] + (0..<40).flatMap { ["--logit-bias", "\($0)=-inf"] },
        ["generate", "--model", "{model}", "--max-new-tokens", "3", "STDOUT>/dev/full"],
        ["estimate", "--params", "1M", "--tokens", "1B", "STDOUT>/dev/full"],
        ["estimate", "--layers", "1000000000", "--heads", "1", "--width", "1000000000", "--context", "1000000000", "--vocab", "1000000000", "--tokens", "1B"],
        ["tokenizer", "encode", "--tokenizer", "{tokenizer}", "STDIN<{dir}"],
        ["chat", "--model", "{model}", "STDIN<{dir}"],
        ["bench", "generate", "--shapes", "M", "--threads", "1", "--prompt-tokens", "9223372036854775807", "--new-tokens", "9223372036854775807"],
        ["import", "hf", "--out", "0", "--from", "{gpt2}"],  // NSString's deletingLastPathComponent trapped on "0"
        ["tokenizer", "train", "--input", "{corpus}", "--vocab-size", "260", "--out", "0"],
        ["train", "--corpus", "/dev/full", "--out", "{out}"],  // a device never ends: reading it whole would exhaust memory
    ]

    /// Found by this fuzzer in the alignment commands (issue 25 owns them): run and reported, failing only
    /// with MINIGPT_CLI_FUZZ_STRICT=1. Move a vector to `regressions` once it passes.
    static let knownAlignmentFailures: [[String]] = [
        ["data", "instruct", "--out", "{out}", "--sft-train", "20", "--pairs-train", "20", "--held-out-per-family", "2",
         "--ppo-prompts", "9223372036854775807"],  // seed 23, case 235: abort
        ["data", "instruct", "--out", "{out}", "--sft-train", "20", "--pairs-train", "20", "--ppo-prompts", "10",
         "--held-out-per-family", "9223372036854775807"],  // seed 7, cases 261 and 1197: trap
        // Not run here because it hangs until the timeout: seed 11, case 417, data instruct --pairs-train 9223372036854775807.
    ]

    struct Command {
        var path: [String]
        var options: [(name: String, isFlag: Bool, values: [String])]
        var name: String { path.joined(separator: " ") }
    }

    final class Fixture {
        let directory = TemporaryDirectory()
        var paths: [String: String] = [:]

        init() throws {
            let corpus = directory.write(String(repeating: "the quick brown fox jumps over the lazy dog; 0123 ÄÖü.\n", count: 60), to: "corpus.txt")
            paths = ["corpus": corpus, "dir": directory.file("a-directory"), "missing": directory.file("missing"),
                     "model": directory.file("run"), "tokenizer": directory.file("tokenizer.json"),
                     "tiktoken": directory.file("tokenizer.tiktoken"), "ids": directory.write("[1, 2, 3]", to: "ids.json"),
                     "gpt2": packageRoot() + "/Models/gpt2-tokenizer"]
            try FileManager.default.createDirectory(atPath: paths["dir"]!, withIntermediateDirectories: true)
            for arguments in [["train", "--corpus", corpus, "--layers", "1", "--heads", "2", "--width", "16", "--context", "16", "--batch", "2",
                               "--steps", "2", "--eval-every", "2", "--eval-batches", "1", "--out", paths["model"]!],
                              ["tokenizer", "train", "--input", corpus, "--vocab-size", "300", "--pattern", "gpt2", "--out", paths["tokenizer"]!],
                              ["tokenizer", "export", "--tokenizer", paths["tokenizer"]!, "--out", paths["tiktoken"]!]] {
                let result = try run(arguments, in: directory.path)
                guard result.status == 0 else { throw CoreFixtureError(description: "fixture \(arguments[0]) failed: \(result.stderr)") }
            }
        }
    }

    struct CoreFixtureError: Error, CustomStringConvertible { var description: String }

    struct Outcome {
        var status: Int32
        var exitedNormally: Bool
        var timedOut: Bool
        var stderr: String
    }

    static var binary: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("minigpt")
    }

    /// Runs the binary with stdin from /dev/null (or `STDIN<path`), stdout to a file (or `STDOUT>path`), killing
    /// it after the timeout.
    static func run(_ arguments: [String], in directory: String) throws -> Outcome {
        var arguments = arguments
        let stdinPath = arguments.last(where: { $0.hasPrefix("STDIN<") }).map { String($0.dropFirst(6)) } ?? "/dev/null"
        let stdoutPath = arguments.last(where: { $0.hasPrefix("STDOUT>") }).map { String($0.dropFirst(7)) } ?? directory + "/stdout"
        arguments.removeAll { $0.hasPrefix("STDIN<") || $0.hasPrefix("STDOUT>") }
        let errPath = directory + "/stderr"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        if !stdoutPath.hasPrefix("/dev/") { FileManager.default.createFile(atPath: stdoutPath, contents: nil) }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle(forReadingAtPath: stdinPath) ?? FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Outcome(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                       timedOut: timedOut, stderr: stderr)
    }

    /// What is wrong with an outcome, or nil.
    static func problem(_ outcome: Outcome) -> String? {
        if outcome.timedOut { return "still running after \(Int(timeout)) s" }
        if !outcome.exitedNormally { return "killed by signal \(outcome.status)" }
        if outcome.status >= 128 { return "exit status \(outcome.status)" }
        let errorLines = outcome.stderr.split(separator: "\n").filter { $0.contains("Error:") }
        if errorLines.count > 1 { return "\(errorLines.count) Error: lines" }
        if outcome.stderr.contains("Fatal error") { return "a Swift fatal error" }
        return nil
    }

    // MARK: Argument vectors

    /// Every leaf subcommand and its options, from the binary's own description of itself.
    static func commands() throws -> [Command] {
        let directory = TemporaryDirectory()
        let help = Process()
        help.executableURL = binary
        help.arguments = ["--experimental-dump-help"]
        let output = directory.file("help.json")
        FileManager.default.createFile(atPath: output, contents: nil)
        help.standardOutput = FileHandle(forWritingAtPath: output)
        try help.run()
        help.waitUntilExit()
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        guard let root = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["command"] as? [String: Any] else {
            throw CoreFixtureError(description: "--experimental-dump-help gave no command tree")
        }
        var result: [Command] = []
        func walk(_ node: [String: Any], _ path: [String]) {
            let children = node["subcommands"] as? [[String: Any]] ?? []
            if children.isEmpty, !path.isEmpty, !skippedCommands.contains(path.joined(separator: " ")), !skippedCommands.contains(path[0]) {
                var options: [(String, Bool, [String])] = []
                for argument in node["arguments"] as? [[String: Any]] ?? [] {
                    guard let names = argument["names"] as? [[String: Any]],
                          let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String,
                          long != "help", !skippedOptions.contains("--" + long) else { continue }
                    let kind = argument["kind"] as? String
                    options.append(("--" + long, kind == "flag", argument["allValues"] as? [String] ?? []))
                }
                result.append(Command(path: path, options: options))
            }
            for child in children { walk(child, path + [child["commandName"] as? String ?? "?"]) }
        }
        walk(root, [])
        return result
    }

    /// A cheap valid vector per command (a few steps of a tiny model, small benchmarks), or the required
    /// flags pointing at missing data for commands whose valid runs take minutes.
    static func base(_ command: String) -> [String] {
        let tinyTrain = ["--layers", "1", "--heads", "2", "--width", "16", "--context", "16", "--batch", "2", "--steps", "2",
                         "--eval-every", "2", "--eval-batches", "1"]
        switch command {
        case "train": return ["--corpus", "{corpus}", "--out", "{out}"] + tinyTrain
        case "generate": return ["--model", "{model}", "--max-new-tokens", "4"]
        case "chat": return ["--model", "{model}", "--max-new-tokens", "4"]
        case "eval": return ["--model", "{model}", "--data", "{corpus}"]
        case "estimate": return ["--params", "10M", "--tokens", "1B"]
        case "tokenizer train": return ["--input", "{corpus}", "--vocab-size", "280", "--out", "{out}"]
        case "tokenizer encode", "tokenizer decode": return ["--tokenizer", "{tokenizer}"]
        case "tokenizer stats": return ["--tokenizer", "{tokenizer}", "--input", "{corpus}"]
        case "tokenizer prepare": return ["--tokenizer", "{tokenizer}", "--input", "{corpus}", "--out", "{out}"]
        case "tokenizer export": return ["--tokenizer", "{tokenizer}", "--out", "{out}"]
        case "tokenizer import": return ["--tiktoken", "{tiktoken}", "--pattern", "gpt2", "--out", "{out}"]
        case "tokenizer bench": return ["--input", "{corpus}", "--tokenizer", "{tokenizer}", "--train-bytes", "2000", "--train-vocab-size", "280"]
        case "bench train": return ["--shapes", "S", "--threads", "1", "--warmup", "0", "--repeats", "5"]
        case "bench kernels": return ["--threads", "1", "--repeats", "3"]  // the full kernel sweep takes minutes: kept invalid
        case "bench generate": return ["--shapes", "M", "--threads", "1", "--weights", "float32", "--prompt-tokens", "8",
                                       "--new-tokens", "4", "--warmup", "0", "--repeats", "1"]
        case "export hf", "export f16": return ["--model", "{model}", "--out", "{out}"]
        case "import hf": return ["--from", "{dir}", "--out", "{out}"]
        case "sft": return ["--base", "{model}", "--data", "{missing}", "--out", "{out}"]
        case "reward train": return ["--init", "{model}", "--data", "{missing}", "--out", "{out}"]
        case "reward score": return ["--model", "{model}", "--prompt", "hi", "--response", "there"]
        case "ppo": return ["--policy", "{model}", "--reward", "{model}", "--data", "{missing}", "--out", "{out}"]
        case "pipeline": return ["--out", "{out}", "--report-only"]
        case "judge": return ["--model", "{model}", "--data", "{missing}"]
        case "data instruct": return ["--out", "{out}", "--sft-train", "20", "--pairs-train", "20", "--ppo-prompts", "10", "--held-out-per-family", "2"]
        case "data chat": return ["--out", "{out}", "--sft-train", "20", "--pairs-train", "20", "--ppo-prompts", "10", "--held-out-per-family", "2",
                                  "--pretrain-megabytes", "1"]
        case "data pretrain": return ["--out", "{out}", "--megabytes", "1"]
        case "bench compare-arch": return ["--corpus", "{corpus}", "--quick", "--out", "{out}", "--threads", "1"]
        default: return []
        }
    }

    static let hostile = ["0", "-1", "1000000000000", "9223372036854775807", "-9223372036854775808", "nan", "inf", "-inf", "1e-39",
                          "1e400", "", "abc", "{dir}", "{missing}", "/proc/minigpt-unwritable/file", "/dev/full", "/dev/null", "{corpus}"]

    /// Values from an option's own domain: cheap sizes, fixture paths, the choices of an enumeration.
    static func domain(_ option: String, _ choices: [String], command: String) -> [String] {
        if !choices.isEmpty { return choices }
        switch option {
        case "--model", "--base", "--init", "--policy", "--reward", "--reference", "--init-from", "--resume", "--also-sample-from",
             "--gold-reward-diagnostic": return ["{model}"]
        case "--corpus", "--input": return ["{corpus}"]
        case "--data": return command == "eval" ? ["{corpus}"] : ["{missing}", "{dir}"]
        case "--tokenizer": return ["{tokenizer}", "{gpt2}"]
        case "--tiktoken": return ["{tiktoken}"]
        case "--gpt2", "--from": return ["{gpt2}"]
        case "--expected-ids": return ["{ids}"]
        case "--out", "--json": return ["{out}"]
        case "--prompt", "--response", "--system", "--stop": return ["the", "a b", "\n", "ÄÖ"]
        case "--special": return ["<|x|>", "<|endoftext|>"]
        case "--logit-bias": return ["0=-1", "1=-inf", "2=3.5", "0=-inf"]
        case "--params", "--tokens", "--flops-per-second", "--tokens-per-second", "--peak-flops", "--price-per-hour":
            return ["1M", "2e9", "300B", "1.5"]
        case "--shapes": return command == "bench generate" ? ["M"] : ["S"]
        case "--threads": return ["1", "2"]
        case "--weights": return command == "bench generate" ? ["float32", "int8"] : ["float32", "int8"]
        case "--repeats" where command == "bench kernels": return ["1", "3"]
        case "--temperature", "--top-p", "--min-p", "--mfu", "--lr", "--min-lr", "--val-fraction", "--weight-decay", "--grad-clip",
             "--repeat-penalty", "--frequency-penalty", "--presence-penalty", "--head-lr", "--ppo-lr", "--value-lr", "--clip",
             "--sentence-share", "--absent-letter-share", "--pretraining-share", "--sampled-pair-share", "--gamma", "--lambda":
            return ["0", "0.1", "0.5", "1"]
        default: return ["1", "2", "3", "8"]
        }
    }

    static func substitute(_ arguments: [String], _ paths: [String: String]) -> [String] {
        arguments.map { argument in
            var text = argument
            for (name, path) in paths { text = text.replacingOccurrences(of: "{\(name)}", with: path) }
            return text
        }
    }

    /// The base vector with one to three options set to a domain or hostile value, and sometimes an unknown token.
    static func mutate(_ command: Command, _ generator: inout SeededGenerator) -> [String] {
        var arguments = command.path + base(command.name)
        guard !command.options.isEmpty else { return arguments }
        for _ in 0..<(1 + generator.nextInt(below: 3)) {
            let option = command.options[generator.nextInt(below: command.options.count)]
            if option.isFlag {
                arguments.append(option.name)
                continue
            }
            // Drop the base's value for this option, so the mutated one is the only one.
            if let index = arguments.firstIndex(of: option.name), index + 1 < arguments.count {
                arguments.removeSubrange(index...(index + 1))
            }
            let pool = generator.nextInt(below: 10) < 6 ? hostile : domain(option.name, option.values, command: command.name)
            arguments += [option.name, pool[generator.nextInt(below: pool.count)]]
        }
        if generator.nextInt(below: 10) == 0 { arguments.append(["--no-such-flag", "stray", "--", "-x"][generator.nextInt(below: 4)]) }
        if generator.nextInt(below: 20) == 0 { arguments.append(["STDOUT>/dev/full", "STDIN<{dir}"][generator.nextInt(below: 2)]) }
        return arguments
    }

    // MARK: Tests

    func testHostileArgumentVectorsNeverTrapOrHang() throws {
        let fixture = try Fixture()
        let commands = try Self.commands()
        XCTAssertGreaterThan(commands.count, 20, "the command tree looks incomplete")
        var generator = SeededGenerator(seed: Self.seed)
        var knownFailures: [String] = []
        var statuses: [Int32: Int] = [:]  // how the runs ended, printed so a campaign that only hits usage errors shows
        for index in 0..<Self.cases {
            let command = commands[index % commands.count]
            let (arguments, outcome) = try Self.run(Self.mutate(command, &generator), fixture: fixture, name: "case-\(index)")
            statuses[outcome.status, default: 0] += 1
            if let problem = Self.problem(outcome) {
                let report = "case \(index) (seed \(Self.seed)): \(problem): minigpt \(arguments.map { $0.debugDescription }.joined(separator: " "))\n\(outcome.stderr.suffix(600))"
                if Self.alignmentCommands.contains(command.name) && !Self.strict {
                    knownFailures.append(report)
                } else {
                    XCTFail(report)
                }
            }
            try? FileManager.default.removeItem(atPath: fixture.directory.file("case-\(index)"))
        }
        print("CLI fuzz, \(Self.cases) cases (seed \(Self.seed)), exit statuses: "
              + statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        XCTAssertGreaterThan(statuses[0, default: 0], Self.cases / 10, "too few runs succeed: the base vectors no longer work")
        if !knownFailures.isEmpty {
            print("known failures in the alignment commands (issue 25), \(knownFailures.count):\n" + knownFailures.joined(separator: "\n"))
        }
    }

    func testRegressionCases() throws {
        let fixture = try Fixture()
        for (index, vector) in Self.regressions.enumerated() {
            let (arguments, outcome) = try Self.run(vector, fixture: fixture, name: "regression-\(index)")
            XCTAssertNil(Self.problem(outcome), "minigpt \(arguments.joined(separator: " ")): \(outcome.stderr)")
        }
        for (index, vector) in Self.knownAlignmentFailures.enumerated() {
            let (arguments, outcome) = try Self.run(vector, fixture: fixture, name: "known-\(index)")
            if Self.strict {
                XCTAssertNil(Self.problem(outcome), "minigpt \(arguments.joined(separator: " "))")
            } else {
                print("known alignment failure \(index): \(Self.problem(outcome) ?? "passes now: move it to regressions")")
            }
        }
    }

    /// Runs a vector with {name} placeholders in its own directory of the fixture; returns the real arguments too.
    static func run(_ vector: [String], fixture: Fixture, name: String) throws -> ([String], Outcome) {
        let caseDirectory = fixture.directory.file(name)
        try FileManager.default.createDirectory(atPath: caseDirectory, withIntermediateDirectories: true)
        var paths = fixture.paths
        paths["out"] = caseDirectory + "/out"
        let arguments = substitute(vector, paths)
        return (arguments, try run(arguments, in: caseDirectory))
    }
}
