import Core
import Foundation
import Model
import Tokenizers
import Training

/// Settings of `minigpt bench compare-arch`. The defaults are the real run (about 3 + 1.5 minutes per
/// model on 2 cores); `quick(corpus:)` is a few seconds per model, to check that everything runs.
public struct ArchitectureComparisonConfig: Codable, Sendable {
    public var corpus: String
    /// Training wall time per model on the corpus (evaluation pauses the clock).
    public var seconds = 180.0
    /// Training wall time per model on the long-range probe.
    public var probeSeconds = 90.0
    /// Validation points on each curve, evenly spaced in training time.
    public var evaluations = 30
    public var contextLength = 64
    public var batchSize = 12
    public var gptLayers = 4, gptHeads = 4, gptWidth = 128
    /// The LSTM's width is chosen to match the GPT's parameter count.
    public var lstmLayers = 2
    /// Each architecture's usual peak rate: nanoGPT's shakespeare_char and char-rnn's.
    public var gptLearningRate: Float = 1e-3
    public var lstmLearningRate: Float = 2e-3
    public var warmupSteps = 50
    /// Every curve point scores the same first tokens of the validation split.
    public var evaluationTokens = 16_384
    /// Validation windows averaged for the loss at each position.
    public var positionWindows = 128
    public var probeDistances = [1, 2, 4, 8, 16, 24, 32, 48, 62]
    public var probeEpisodes = 256
    public var seed: UInt64 = 1337
    /// Before each model, wait (up to 2 minutes) until other processes use under 0.15 core.
    public var waitForQuiet = false

    public init(corpus: String) { self.corpus = corpus }

    /// Seconds instead of minutes, tiny models: proves the pipeline end to end, measures nothing.
    public static func quick(corpus: String) -> ArchitectureComparisonConfig {
        var config = ArchitectureComparisonConfig(corpus: corpus)
        config.seconds = 3
        config.probeSeconds = 3
        config.evaluations = 3
        config.contextLength = 32
        config.batchSize = 8
        (config.gptLayers, config.gptHeads, config.gptWidth) = (2, 2, 32)
        config.lstmLayers = 1
        config.warmupSteps = 5
        config.evaluationTokens = 2048
        config.positionWindows = 16
        config.probeDistances = [1, 4, 8, 16, 30]
        config.probeEpisodes = 32
        return config
    }

    public func validate() throws {
        guard seconds > 0, probeSeconds > 0, evaluations >= 1 else { throw BenchmarkError.invalid("times and evaluations must be positive") }
        guard let largest = probeDistances.max(), probeDistances.allSatisfy({ $0 >= 1 }), largest + 2 <= contextLength else {
            throw BenchmarkError.invalid("probe distances must be in 1...\(contextLength - 2) (context \(contextLength))")
        }
        guard evaluationTokens > contextLength, positionWindows >= 1, probeEpisodes >= 1 else {
            throw BenchmarkError.invalid("evaluation sizes must be positive")
        }
        try gptShape(vocabulary: 1).validate()
    }

    public func gptShape(vocabulary: Int) -> ModelConfig {
        ModelConfig(vocabularySize: vocabulary, contextLength: contextLength, layers: gptLayers, heads: gptHeads, width: gptWidth)
    }

    /// The LSTM of `lstmLayers` layers whose parameter count is closest to the GPT's.
    public func lstmShape(vocabulary: Int) -> ModelConfig {
        let target = gptShape(vocabulary: vocabulary).parameterCount
        func shape(_ width: Int) -> ModelConfig {
            ModelConfig(vocabularySize: vocabulary, contextLength: contextLength, layers: lstmLayers, heads: 1, width: width, architecture: .lstm)
        }
        var width = 1
        while shape(width + 1).parameterCount <= target { width += 1 }
        let above = shape(width + 1).parameterCount - target, below = target - shape(width).parameterCount
        return shape(above < below ? width + 1 : width)
    }
}

public enum BenchmarkError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let message): return message
        }
    }
}

/// What one architecture did.
public struct ArchitectureResult: Codable, Sendable {
    public struct CurvePoint: Codable, Sendable {
        public var seconds: Double
        public var tokens: Int
        public var validationLoss: Double
    }

    public struct ProbePoint: Codable, Sendable {
        public var distance: Int
        public var accuracy: Double
    }

    public var architecture: Architecture
    public var shape: ModelConfig
    public var parameters: Int
    public var learningRate: Float
    public var steps: Int
    public var curve: [CurvePoint]
    /// Mean validation loss at each position 0..<T of the context window.
    public var lossByPosition: [Double]
    public var probeSteps: Int
    public var probe: [ProbePoint]
    /// Cores other processes kept busy while this model trained and was measured (the machines are shared).
    public var foreignCores: Double
}

/// Trains a GPT and an LSTM of about the same parameter count on the same corpus for the same wall time,
/// then measures validation loss against time and tokens, loss by position in the window, and accuracy on
/// the long-range probe (`LongRangeProbe`). Each model's run directory is kept under `outputDirectory/runs`.
public struct ArchitectureComparison: Codable, Sendable {
    public var machine: MachineInfo
    public var config: ArchitectureComparisonConfig
    public var results: [ArchitectureResult]

    public static func run(_ config: ArchitectureComparisonConfig, outputDirectory: String,
                           log: (String) -> Void) throws -> ArchitectureComparison {
        try config.validate()
        let text = try TextFile.read(config.corpus)
        let tokenizer = try CharTokenizer(corpus: text)
        let corpus = try TrainingData(tokens: try tokenizer.encode(text).map(Int32.init), validationFraction: 0.1,
                                      contextLength: config.contextLength)
        var generator = SeededGenerator(seed: config.seed)
        let probeText = LongRangeProbe.trainingText(characters: 400_000, maxDistance: config.contextLength - 2, generator: &generator)
        let probeTokenizer = try CharTokenizer(corpus: probeText)
        let probeData = try TrainingData(tokens: try probeTokenizer.encode(probeText).map(Int32.init), validationFraction: 0.1,
                                         contextLength: config.contextLength)
        var results: [ArchitectureResult] = []
        for architecture in Architecture.allCases {
            let shape = { (vocabulary: Int) in architecture == .gpt ? config.gptShape(vocabulary: vocabulary) : config.lstmShape(vocabulary: vocabulary) }
            let rate = architecture == .gpt ? config.gptLearningRate : config.lstmLearningRate
            if config.waitForQuiet { ForeignLoad.waitForQuiet() }
            let load = ForeignLoad()
            let lm = try Trainer(modelConfig: shape(tokenizer.vocabularySize), tokenizer: tokenizer, data: corpus,
                                 config: trainConfig(config, rate: rate), runDirectory: outputDirectory + "/runs/\(architecture.rawValue)")
            log("\(architecture.displayName): \(lm.model.config.layers) layers, width \(lm.model.config.width), \(lm.model.parameterCount) parameters; training for \(config.seconds) s")
            let curve = try train(lm, seconds: config.seconds, evaluations: config.evaluations,
                                  evaluationTokens: try corpus.validation.ids(0..<min(config.evaluationTokens, corpus.validation.count)), log: log)
            try lm.saveCheckpoint()
            let positions = try lossByPosition(lm.model, tokens: try corpus.validation.ids(0..<corpus.validation.count), windows: config.positionWindows, batch: config.batchSize)

            let probe = try Trainer(modelConfig: shape(probeTokenizer.vocabularySize), tokenizer: probeTokenizer, data: probeData,
                                    config: trainConfig(config, rate: rate), runDirectory: outputDirectory + "/runs/\(architecture.rawValue)-probe")
            log("\(architecture.displayName) on the long-range probe for \(config.probeSeconds) s")
            _ = try train(probe, seconds: config.probeSeconds, evaluations: 1, evaluationTokens: try probeData.validation.ids(0..<min(4096, probeData.validation.count)), log: log)
            try probe.saveCheckpoint()
            var probeGenerator = SeededGenerator(seed: config.seed &+ 1)
            let accuracies = try config.probeDistances.map { distance in
                ArchitectureResult.ProbePoint(distance: distance, accuracy: try LongRangeProbe.accuracy(
                    model: probe.model, tokenizer: probeTokenizer, distance: distance, episodes: config.probeEpisodes,
                    maxDistance: config.contextLength - 2, batch: config.batchSize, generator: &probeGenerator))
            }
            results.append(ArchitectureResult(architecture: architecture, shape: lm.model.config, parameters: lm.model.parameterCount,
                                              learningRate: rate, steps: lm.step, curve: curve, lossByPosition: positions,
                                              probeSteps: probe.step, probe: accuracies, foreignCores: load.cores))
        }
        return ArchitectureComparison(machine: MachineInfo.current(), config: config, results: results)
    }

    /// Warm-up, then a constant rate: the run ends on a clock, not at a step count a cosine could aim at.
    static func trainConfig(_ config: ArchitectureComparisonConfig, rate: Float) -> TrainConfig {
        var train = TrainConfig()
        train.batchSize = config.batchSize
        train.steps = 10_000_000
        train.learningRate = rate
        train.minLearningRate = rate
        train.warmupSteps = config.warmupSteps
        train.seed = config.seed
        return train
    }

    /// Steps `trainer` until `seconds` of training time have passed, scoring `evaluationTokens` at the start
    /// and after every `seconds / evaluations` (the evaluations themselves are not timed).
    static func train(_ trainer: Trainer, seconds: Double, evaluations: Int, evaluationTokens: [Int32],
                      log: (String) -> Void) throws -> [ArchitectureResult.CurvePoint] {
        let clock = ContinuousClock()
        var elapsed = 0.0
        func point() throws -> ArchitectureResult.CurvePoint {
            let loss = try Evaluation.crossEntropy(model: trainer.model, tokens: evaluationTokens, batchSize: trainer.config.batchSize).meanLoss
            return .init(seconds: elapsed, tokens: trainer.step * trainer.tokensPerStep, validationLoss: loss)
        }
        var curve = [try point()]
        for index in 1...evaluations {
            let until = seconds * Double(index) / Double(evaluations)
            while elapsed < until {
                let started = clock.now
                _ = try trainer.trainStep()
                let duration = clock.now - started
                elapsed += Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            let latest = try point()
            curve.append(latest)
            log(String(format: "  %.0f s, step %d, %d tokens: validation loss %.4f", elapsed, trainer.step, latest.tokens, latest.validationLoss))
        }
        return curve
    }

    /// Mean loss at each position of the window over non-overlapping validation windows (at most `windows`).
    static func lossByPosition(_ model: any LanguageModel, tokens: [Int32], windows: Int, batch: Int) throws -> [Double] {
        let t = model.config.contextLength
        let count = min(windows, (tokens.count - 1) / t)
        var sums = [Double](repeating: 0, count: t)
        var start = 0
        while start < count {
            let rows = min(batch, count - start)
            let span = (start * t)..<((start + rows) * t)
            try model.forward(tokens: Array(tokens[span]), targets: Array(tokens[(span.lowerBound + 1)...span.upperBound]), batch: rows, time: t)
            for (index, loss) in model.lastLosses.enumerated() { sums[index % t] += Double(loss) }
            start += rows
        }
        return sums.map { $0 / Double(max(count, 1)) }
    }
}
