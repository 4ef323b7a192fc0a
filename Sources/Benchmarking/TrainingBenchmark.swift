import Core
import Foundation
import Model
import Tokenizers
import Training

/// The training configurations the issues compare against PyTorch (vocab, layers, heads, width, context, batch).
public struct TrainingShape: Codable, Sendable {
    public var name: String
    public var model: ModelConfig
    public var batch: Int

    public static let presets: [String: TrainingShape] = [
        "S": TrainingShape(name: "S", model: ModelConfig(vocabularySize: 65, contextLength: 64, layers: 4, heads: 4, width: 128), batch: 12),
        "M": TrainingShape(name: "M", model: ModelConfig(vocabularySize: 65, contextLength: 256, layers: 6, heads: 6, width: 384), batch: 8),
        "L": TrainingShape(name: "L", model: ModelConfig(vocabularySize: 4096, contextLength: 256, layers: 6, heads: 6, width: 384), batch: 8),
    ]

}

public struct TrainingBenchmarkResult: Codable, Sendable {
    public var shape: String
    /// Processes (MPI ranks) sharing each batch, each with `threads` threads.
    public var processes: Int
    public var threads: Int
    public var tokensPerStep: Int
    public var milliseconds: Measurement
    public var tokensPerSecond: Double
    public var gflops: Double
    /// Achieved training FLOP/s over the FMA peak measured for the same thread count.
    public var mfu: Double
    public var peakMemoryMB: Double
    public var initialLoss: Float
    /// Cores other processes kept busy during the timed steps (0 on a quiet machine).
    public var foreignLoadCores: Double
}

public enum TrainingBenchmark {
    /// Validates (the first step's loss is near ln V, as for any freshly initialised model), warms up,
    /// then times `repeats` optimizer steps on random tokens. With several `processes` each times its own
    /// steps, which end together at the gradient sum; the peak is measured for all of their threads, as
    /// if they shared this machine.
    public static func run(shape: TrainingShape, threads: Int, warmup: Int, repeats: Int,
                           processes: any ProcessGroup = SingleProcess()) throws -> TrainingBenchmarkResult {
        try ComputeThreads.set(threads)
        let v = shape.model.vocabularySize
        let tokenizer = try CharTokenizer(characters: (0..<v).compactMap { Unicode.Scalar(0x100 + $0) })
        var generator = SeededGenerator(seed: 99)
        let tokens = (0..<(shape.model.contextLength * 200)).map { _ in Int32(generator.nextInt(below: v)) }
        var config = TrainConfig()
        config.batchSize = shape.batch
        config.steps = warmup + repeats + 1
        config.warmupSteps = 1
        let data = try TrainingData(tokens: tokens, validationFraction: 0.1, contextLength: shape.model.contextLength)
        let trainer = try Trainer(modelConfig: shape.model, tokenizer: tokenizer, data: data, config: config,
                                  runDirectory: NSTemporaryDirectory() + "minigpt-bench-unused", processes: processes)
        let first = try trainer.trainStep()
        let expected = Float(log(Double(v)))
        guard first.loss.isFinite, abs(first.loss - expected) < 0.2 else {
            throw TrainingError.nonFinite("benchmark validation failed: initial loss \(first.loss), expected about \(expected)")
        }
        for _ in 0..<warmup { _ = try trainer.trainStep() }
        let load = ForeignLoad()
        let measurement = try Measurement.time(warmup: 0, repeats: repeats) { _ = try trainer.trainStep() }
        let foreign = load.cores
        let tokensPerStep = trainer.tokensPerStep
        let seconds = measurement.median / 1000
        let achieved = shape.model.trainingFLOPsPerToken * Double(tokensPerStep) / seconds
        // Only rank 0 reports, so only it probes the peak (the others' results are dropped).
        let peak = processes.isRoot ? MachinePeak.measureFLOPS(threads: threads * processes.size) : .infinity
        return TrainingBenchmarkResult(shape: shape.name, processes: processes.size, threads: threads, tokensPerStep: tokensPerStep,
                                       milliseconds: measurement, tokensPerSecond: Double(tokensPerStep) / seconds,
                                       gflops: achieved / 1e9, mfu: achieved / peak,
                                       peakMemoryMB: peakResidentMegabytes(), initialLoss: first.loss,
                                       foreignLoadCores: foreign)
    }
}
