import Core
import Foundation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

/// Ranks simulated by threads of one process: each collective waits for every rank, then each rank sums
/// the deposited values in rank order (as MPI's reduction over two ranks does, a + b).
final class ThreadRanks: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var deposits: [[Float]]
    private var arrived = 0
    private var generation = 0

    init(size: Int) {
        self.size = size
        deposits = Array(repeating: [], count: size)
    }

    /// Every rank's `values`, once all have arrived.
    func exchange(_ values: [Float], rank: Int) -> [[Float]] {
        condition.lock()
        defer { condition.unlock() }
        deposits[rank] = values
        wait()
        let all = deposits
        wait()  // nobody deposits the next round before everyone has read this one
        return all
    }

    private func wait() {
        let round = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == round { condition.wait() }
        }
    }

    func group(rank: Int) -> ProcessGroup { Member(ranks: self, rank: rank) }

    final class Member: ProcessGroup {
        let ranks: ThreadRanks
        let rank: Int
        var size: Int { ranks.size }
        init(ranks: ThreadRanks, rank: Int) { self.ranks = ranks; self.rank = rank }

        func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
            let all = ranks.exchange(Array(UnsafeBufferPointer(start: values, count: count)), rank: rank)
            for index in 0..<count { values[index] = all.dropFirst().reduce(all[0][index]) { $0 + $1[index] } }
        }

        func allEqual(_ value: UInt64) throws -> Bool {
            let all = ranks.exchange([Float(bitPattern: UInt32(truncatingIfNeeded: value)),
                                      Float(bitPattern: UInt32(truncatingIfNeeded: value >> 32))], rank: rank)
            return all.allSatisfy { $0.map(\.bitPattern) == all[0].map(\.bitPattern) }
        }

        func any(_ flag: Bool) throws -> Bool {
            ranks.exchange([flag ? 1 : 0], rank: rank).contains { $0[0] != 0 }
        }
    }
}

final class ProcessGroupTests: XCTestCase {
    let corpus = String(repeating: "the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! ", count: 40)

    override func tearDown() {
        try? ComputeThreads.set(ComputeThreads.available)
    }

    func makeTrainer(corpus: String, directory: String, processes: ProcessGroup) throws -> Trainer {
        let tokenizer = try CharTokenizer(corpus: self.corpus)
        var config = TrainConfig()
        config.steps = 6
        config.batchSize = 4
        config.warmupSteps = 2
        config.evalEvery = 3
        // Several micro-batches and validation batches: their losses must add up in one process's order.
        config.gradientAccumulation = 2
        config.evalBatches = 3
        let shape = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 2, heads: 2, width: 16)
        let data = try TrainingData(tokens: try tokenizer.encode(corpus).map(Int32.init), validationFraction: 0.1, contextLength: 16)
        return try Trainer(modelConfig: shape, tokenizer: tokenizer, data: data, config: config, runDirectory: directory,
                           processes: processes)
    }

    /// Runs `body(rank)` on one thread per rank and returns what each returned (or threw).
    func onRanks<T>(_ size: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>] {
        let results = ResultBox<T>(count: size)
        let threads = (0..<size).map { rank in
            Thread { results.set(rank, Result { try body(rank) }) }
        }
        threads.forEach { $0.stackSize = 8 << 20; $0.start() }
        results.waitForAll()
        return results.values
    }

    /// Trains the same run on two thread-simulated ranks; each returns its reports and final weights.
    func trainOnTwoRanks(directories: [TemporaryDirectory]) -> [Result<([StepReport], [Float]), Error>] {
        let ranks = ThreadRanks(size: 2)
        let corpus = self.corpus
        return onRanks(2) { rank in
            let trainer = try self.makeTrainer(corpus: corpus, directory: directories[rank].path, processes: ranks.group(rank: rank))
            var reports: [StepReport] = []
            try trainer.run { reports.append($0) }
            return (reports, trainer.model.parameters.array)
        }
    }

    /// Two ranks of one thread each give the losses, gradient norms and weights of one process whose two
    /// threads take the same halves of each batch, bit for bit; rank 1 writes nothing.
    func testTwoRanksReproduceOneProcessWithTwoThreads() throws {
        try ComputeThreads.set(2)
        let single = TemporaryDirectory()
        let reference = try makeTrainer(corpus: corpus, directory: single.path, processes: SingleProcess())
        var expected: [StepReport] = []
        try reference.run { expected.append($0) }

        try ComputeThreads.set(1)
        let directories = [TemporaryDirectory(), TemporaryDirectory()]
        let runs = trainOnTwoRanks(directories: directories)
        let root = try runs[0].get(), other = try runs[1].get()
        XCTAssertEqual(root.0.map(\.trainLoss), expected.map(\.trainLoss))
        XCTAssertEqual(root.0.map(\.validationLoss), expected.map(\.validationLoss))
        XCTAssertEqual(root.0.map(\.gradientNorm), expected.map(\.gradientNorm))
        XCTAssertEqual(root.1, reference.model.parameters.array)
        XCTAssertEqual(other.1, reference.model.parameters.array, "every rank applies the same update")
        XCTAssertTrue(other.0.isEmpty, "only rank 0 reports")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directories[1].path), [])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directories[0].file(Trainer.metricsFile))).count > 0, true)
    }

    /// Against one process of one thread the halves are summed in another order (BLAS adds all rows of a
    /// weight gradient in one product), so losses agree only to float rounding: 2e-5 relative over six
    /// steps (the differences start near 1e-7 and Adam's normalised steps carry them into the weights).
    func testTwoRanksMatchOneThreadWithinRounding() throws {
        try ComputeThreads.set(1)
        let single = TemporaryDirectory()
        let reference = try makeTrainer(corpus: corpus, directory: single.path, processes: SingleProcess())
        var expected: [StepReport] = []
        try reference.run { expected.append($0) }
        let reports = try trainOnTwoRanks(directories: [TemporaryDirectory(), TemporaryDirectory()])[0].get().0
        assertClose(reports.map(\.trainLoss), expected.map(\.trainLoss), absolute: 0, relative: 2e-5)
    }

    /// A rank given another corpus is refused before the first step, on every rank, naming the corpus.
    func testRanksWithDifferentCorporaAreRefused() throws {
        try ComputeThreads.set(1)
        let directories = [TemporaryDirectory(), TemporaryDirectory()]
        let ranks = ThreadRanks(size: 2)
        let corpora = [corpus, String(corpus.reversed())]
        let runs = onRanks(2) { rank in
            _ = try self.makeTrainer(corpus: corpora[rank], directory: directories[rank].path, processes: ranks.group(rank: rank))
        }
        for run in runs {
            XCTAssertThrowsError(try run.get()) { error in
                guard case TrainingError.processesDisagree(let what) = error else { return XCTFail("unexpected \(error)") }
                XCTAssertTrue(what.hasPrefix("the corpus"), what)
            }
        }
    }

    /// Each rank's rows are contiguous and together are the global batch, whatever the number of ranks.
    func testSharesCoverTheBatchInOrder() {
        for size in 1...5 {
            let ranks = ThreadRanks(size: size)
            let rows = (0..<size).flatMap { Array(ranks.group(rank: $0).share(of: 12)) }
            XCTAssertEqual(rows, Array(0..<12), "\(size) ranks")
        }
    }
}

/// Results written by several threads, read once all are in.
final class ResultBox<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var slots: [Result<T, Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<T, Error>) {
        condition.lock(); slots[index] = value; condition.broadcast(); condition.unlock()
    }
    func waitForAll() {
        condition.lock(); while slots.contains(where: { $0 == nil }) { condition.wait() }; condition.unlock()
    }
    var values: [Result<T, Error>] { slots.compactMap { $0 } }
}
