/// Everything that decides a training run besides the model shape. Defaults follow nanoGPT's
/// shakespeare_char recipe (AdamW betas 0.9/0.99, weight decay 0.1, clip 1.0, min lr = lr / 10).
public struct TrainConfig: Codable, Equatable, Sendable {
    public var batchSize = 12
    public var steps = 2000
    public var learningRate: Float = 1e-3
    public var minLearningRate: Float = 1e-4
    public var warmupSteps = 100
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var epsilon: Float = 1e-8
    /// Global gradient-norm clip; 0 turns clipping off.
    public var gradientClip: Float = 1.0
    /// Micro-batches per optimizer step.
    public var gradientAccumulation = 1
    public var evalEvery = 250
    /// Random validation batches per evaluation during training (nanoGPT's eval_iters).
    public var evalBatches = 20
    /// Steps between checkpoints; 0 saves only at evaluations and at the end.
    public var saveEvery = 0
    public var validationFraction = 0.1
    public var seed: UInt64 = 1337

    public init() {}

    /// A short fine-tuning run's settings: the given sizes and rates, cosine decay to a tenth of the peak.
    public init(batchSize: Int, steps: Int, learningRate: Float, warmupSteps: Int, weightDecay: Float,
                gradientClip: Float, seed: UInt64) {
        self.batchSize = batchSize
        self.steps = steps
        self.learningRate = learningRate
        minLearningRate = learningRate / 10
        self.warmupSteps = warmupSteps
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
        self.seed = seed
    }

    /// Upper bound of every count below: far beyond any run this engine can do, and small enough that
    /// products of counts (tokens per step, step x batch) cannot overflow.
    public static let maxCount = 1 << 30

    /// The optimizer's part of these settings.
    public var adamW: AdamWSettings {
        AdamWSettings(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }

    public func validate() throws {
        func positive(_ name: String, _ value: Int) throws {
            guard value > 0 else { throw TrainingError.invalidConfig("\(name) must be positive, got \(value)") }
            guard value <= Self.maxCount else { throw TrainingError.invalidConfig("\(name) \(value) is too large (at most \(Self.maxCount))") }
        }
        func finite(_ name: String, _ value: Float) throws {
            guard value.isFinite else { throw TrainingError.invalidConfig("\(name) must be a finite number, got \(value)") }
        }
        try positive("--batch", batchSize)
        try positive("--steps", steps)
        try positive("--grad-accum", gradientAccumulation)
        try positive("--eval-every", evalEvery)
        try positive("--eval-batches", evalBatches)
        guard warmupSteps >= 0 else { throw TrainingError.invalidConfig("--warmup must not be negative, got \(warmupSteps)") }
        guard saveEvery >= 0 else { throw TrainingError.invalidConfig("--save-every must not be negative, got \(saveEvery)") }
        for (name, value) in [("--warmup", warmupSteps), ("--save-every", saveEvery)] where value > Self.maxCount {
            throw TrainingError.invalidConfig("\(name) \(value) is too large (at most \(Self.maxCount))")
        }
        for (name, value) in [("--lr", learningRate), ("--min-lr", minLearningRate), ("--weight-decay", weightDecay),
                              ("--grad-clip", gradientClip), ("Adam epsilon", epsilon)] {
            try finite(name, value)
        }
        guard learningRate > 0 else { throw TrainingError.invalidConfig("--lr must be positive, got \(learningRate)") }
        guard minLearningRate >= 0, minLearningRate <= learningRate else {
            throw TrainingError.invalidConfig("--min-lr must be between 0 and --lr, got \(minLearningRate)")
        }
        guard weightDecay >= 0 else { throw TrainingError.invalidConfig("--weight-decay must not be negative") }
        guard gradientClip >= 0 else { throw TrainingError.invalidConfig("--grad-clip must not be negative") }
        guard epsilon > 0 else { throw TrainingError.invalidConfig("Adam epsilon must be positive") }
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else { throw TrainingError.invalidConfig("Adam betas must be in [0, 1)") }
        guard validationFraction > 0, validationFraction < 1 else {
            throw TrainingError.invalidConfig("--val-fraction must be between 0 and 1, got \(validationFraction)")
        }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidConfig(String)
    case corpusTooSmall(String)
    case badRunDirectory(path: String, reason: String)
    case nonFinite(String)
    case processesDisagree(String)

    public var description: String {
        switch self {
        case .invalidConfig(let message): return "invalid training option: \(message)"
        case .corpusTooSmall(let message): return message
        case .badRunDirectory(let path, let reason): return "cannot resume from \(path): \(reason)"
        case .nonFinite(let message): return message
        case .processesDisagree(let what): return "the training processes disagree on \(what)"
        }
    }
}
