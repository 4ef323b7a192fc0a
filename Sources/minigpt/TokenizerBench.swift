import ArgumentParser
import Core
import Foundation
import Tokenizers

/// `minigpt tokenizer bench`: encode throughput and training time, measured the way the peers'
/// scripts in Benchmarks/peers/ measure tiktoken and Hugging Face tokenizers (validate, warm up,
/// repeat, report median/min/max). Build with `-c release`; timings never go into unit tests.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark single-thread encoding and 4,096-token training (release build).")

    @Option(name: .long, help: "Tokenizer to encode with (default: GPT-2's vocabulary in Models/gpt2-tokenizer).")
    var tokenizer = "Models/gpt2-tokenizer"
    @Option(name: .long, help: "Text to encode; its first --train-bytes bytes are the training text.")
    var input: String
    @Option(name: .long, help: "Ids tiktoken produced for --input (one JSON array, from Benchmarks/peers/tiktoken_encode.py); checked before timing.")
    var expectedIds: String?
    @Option(name: .long, help: "Timed repetitions (at least 5).")
    var repeats = 5
    @Option(name: .long, help: "Bytes of --input to train on.")
    var trainBytes = 1_000_000
    @Option(name: .long, help: "Vocabulary size to train.")
    var trainVocabSize = 4096
    @Option(name: .long, help: "Pre-split pattern for training.")
    var pattern: PreSplitPattern = .gpt2
    @Flag(name: .long, help: "Skip the training benchmark.")
    var skipTraining = false
    @Flag(name: .long, help: "Skip the encoding benchmark.")
    var skipEncoding = false
    @Option(name: .long, help: "Write the results as JSON here.")
    var json: String?

    func validate() throws {
        guard repeats >= 5, repeats <= 1000 else { throw ValidationError("--repeats must be in 5...1000, got \(repeats)") }
        guard trainBytes > 0 else { throw ValidationError("--train-bytes must be positive") }
        try Preflight.readableFile(input, "--input")
        if !skipEncoding { try Preflight.readablePath(tokenizer, "--tokenizer") }
        if let expectedIds { try Preflight.readableFile(expectedIds, "--expected-ids") }
        if let json { try Preflight.writableFile(json, "--json") }
    }

    struct Timing: Codable {
        var name: String
        var bytes: Int
        var seconds: [Double]
        var medianSeconds: Double
        var minSeconds: Double
        var maxSeconds: Double
        var medianMBPerSecond: Double
        var note: String
    }

    private func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func summarize(_ name: String, bytes: Int, _ seconds: [Double], note: String) -> Timing {
        let sorted = seconds.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return Timing(name: name, bytes: bytes, seconds: seconds, medianSeconds: median, minSeconds: sorted.first!,
                      maxSeconds: sorted.last!, medianMBPerSecond: Double(bytes) / 1e6 / median, note: note)
    }

    func run() throws {
        var results: [Timing] = []
        let text = [UInt8](try AtomicFile.read(input))
        guard !text.isEmpty else { throw TokenizerError.emptyInput(input) }
        if !skipEncoding {
            guard let bpe = try loadTokenizer(tokenizer) as? BPETokenizer else {
                throw TokenizerCommandError("\(tokenizer) is not a BPE tokenizer")
            }
            // Validate: the ids round-trip, and equal tiktoken's when its ids are given.
            let ids = bpe.encode(bytes: text)
            guard try bpe.decodeBytes(ids) == text else {
                throw TokenizerCommandError("decode(encode(input)) differs from the input")
            }
            var note = "round trip checked"
            if let expectedIds {
                let data = try AtomicFile.read(expectedIds)
                guard let expected = try JSONSerialization.jsonObject(with: data) as? [Int] else {
                    throw TokenizerCommandError("\(expectedIds) is not a JSON array of ids")
                }
                guard expected == ids else {
                    let first = (0..<min(expected.count, ids.count)).first { expected[$0] != ids[$0] } ?? min(expected.count, ids.count)
                    throw TokenizerCommandError("ids differ from \(expectedIds) at position \(first) (\(expected.count) expected, \(ids.count) ours)")
                }
                note = "all \(ids.count) ids equal tiktoken's"
            }
            _ = bpe.encode(bytes: text)  // warm-up
            var seconds: [Double] = []
            for _ in 0..<repeats { seconds.append(time { _ = bpe.encode(bytes: text) }) }
            results.append(summarize("encode", bytes: text.count, seconds, note: note + ", \(ids.count) tokens"))
        }

        if !skipTraining {
            var cut = min(trainBytes, text.count)
            while cut < text.count && cut > 0 && text[cut] & 0xC0 == 0x80 { cut -= 1 }  // whole characters
            let sample = Array(text[..<cut])
            var trained: BPETrainingResult?
            // Warm-up run, also the one validated below.
            _ = try time { trained = try BPETrainer.train(corpus: [sample], vocabularySize: trainVocabSize, pattern: pattern) }
            guard let trained else { throw TokenizerCommandError("training produced nothing") }
            guard !trained.stoppedEarly else {
                throw TokenizerCommandError("training stopped at \(trained.tokenizer.vocabularySize) tokens: the text has too few distinct pairs for --train-vocab-size \(trainVocabSize)")
            }
            guard try trained.tokenizer.decodeBytes(trained.tokenizer.encode(bytes: sample)) == sample else {
                throw TokenizerCommandError("the trained tokenizer does not round-trip the training text")
            }
            var trainSeconds: [Double] = []
            for _ in 0..<repeats {
                trainSeconds.append(try time { _ = try BPETrainer.train(corpus: [sample], vocabularySize: trainVocabSize, pattern: pattern) })
            }
            results.append(summarize("train", bytes: sample.count, trainSeconds,
                                     note: "vocab \(trainVocabSize), pattern \(pattern.rawValue), \(trained.distinctChunks) distinct chunks"))
        }

        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(results), to: json)
        }
        Console.line("| benchmark | bytes | median s | min s | max s | MB/s (median) | note |")
        Console.line("|---|---|---|---|---|---|---|")
        for result in results {
            let numbers = String(format: "%.4f | %.4f | %.4f | %.2f", result.medianSeconds, result.minSeconds,
                                 result.maxSeconds, result.medianMBPerSecond)
            Console.line("| \(result.name) | \(result.bytes) | \(numbers) | \(result.note) |")
        }
    }
}
