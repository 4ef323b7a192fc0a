import Model

/// The size of a model as far as compute accounting needs it: a parameter count, and when the
/// architecture is known, the dimensions that set the attention term.
public struct ModelSize: Codable, Equatable, Sendable {
    /// N: every parameter, with the LM head tied to the token embedding (counted once).
    public var totalParameters: Double
    /// Parameters outside the token and position embeddings (Kaplan et al.'s N); nil for a raw count.
    public var nonEmbeddingParameters: Double?
    /// n_layer, n_ctx, d_model; nil for a raw parameter count (then the attention term is left out).
    public var layers: Int?
    public var contextLength: Int?
    public var width: Int?

    /// Largest sizes accepted, so every count stays exact in Int arithmetic (12 * layers * width^2 < 2^63).
    public static let maxWidth = 1_000_000, maxLayers = 100_000, maxContext = 100_000_000, maxVocabulary = 100_000_000

    /// From an architecture. Unlike `ModelConfig.validate()` there is no upper limit for training here:
    /// estimating GPT-3 is the point.
    public init(config: ModelConfig) throws {
        let sizes: [(String, Int, Int)] = [("--layers", config.layers, Self.maxLayers), ("--heads", config.heads, Self.maxWidth),
                                           ("--width", config.width, Self.maxWidth),
                                           ("--context", config.contextLength, Self.maxContext),
                                           ("--vocab", config.vocabularySize, Self.maxVocabulary)]
        for (name, value, limit) in sizes {
            guard value > 0 else { throw AccountingError.invalid("\(name) must be positive, got \(value)") }
            guard value <= limit else { throw AccountingError.invalid("\(name) \(value) is larger than the limit \(limit)") }
        }
        guard config.width % config.heads == 0 else {
            throw AccountingError.invalid("--width \(config.width) is not divisible by --heads \(config.heads)")
        }
        let total = Double(config.parameterCount)
        totalParameters = total
        nonEmbeddingParameters = total - Double((config.vocabularySize + config.contextLength) * config.width)
        layers = config.layers
        contextLength = config.contextLength
        width = config.width
    }

    /// From a raw parameter count, e.g. 175e9 for GPT-3.
    public init(parameters: Double) throws {
        guard parameters.isFinite, parameters > 0 else {
            throw AccountingError.invalid("the parameter count must be positive, got \(parameters)")
        }
        totalParameters = parameters
    }

    /// Whether the attention term can be computed.
    public var knowsArchitecture: Bool { layers != nil && width != nil && contextLength != nil }

    /// Kaplan et al. (2020) Table 1 attention ("mask") FLOPs of one forward token attending over `context`
    /// positions: 2 * n_layer * n_ctx * d_attn, with d_attn = d_model. 0 when the architecture is unknown.
    public func forwardAttentionFLOPsPerToken(context: Int) -> Double {
        guard let layers, let width else { return 0 }
        return 2 * Double(layers) * Double(context) * Double(width)
    }
}

/// How fast the hardware goes, as measured throughput or as devices * peak * utilisation.
public enum Throughput: Codable, Equatable, Sendable {
    /// Achieved FLOP/s of the whole job.
    case flopsPerSecond(Double)
    /// Training tokens per second of the whole job; FLOP/s = this * training FLOPs per token.
    case tokensPerSecond(Double)
    /// Achieved FLOP/s = devices * peak FLOP/s per device * MFU (model FLOPs utilisation, in (0, 1]).
    case peak(flopsPerSecondPerDevice: Double, utilization: Double)
}

/// What to estimate: a model trained on `tokens` tokens, optionally on given hardware at a given price.
public struct EstimateRequest: Codable, Equatable, Sendable {
    public var model: ModelSize
    /// D: training tokens.
    public var tokens: Double
    public var throughput: Throughput?
    /// Devices the job runs on: multiplies the peak throughput and the hourly cost.
    public var devices: Int
    /// Price of one device for one hour, in any currency.
    public var pricePerDeviceHour: Double?
    /// Positions attended to by a generated token; defaults to the model's context length.
    public var inferenceContext: Int?

    public init(model: ModelSize, tokens: Double, throughput: Throughput? = nil, devices: Int = 1,
                pricePerDeviceHour: Double? = nil, inferenceContext: Int? = nil) {
        self.model = model
        self.tokens = tokens
        self.throughput = throughput
        self.devices = devices
        self.pricePerDeviceHour = pricePerDeviceHour
        self.inferenceContext = inferenceContext
    }

    public func validate() throws {
        func positive(_ value: Double, _ name: String) throws {
            guard value.isFinite, value > 0 else { throw AccountingError.invalid("\(name) must be positive, got \(value)") }
        }
        try positive(tokens, "--tokens")
        guard devices >= 1 else { throw AccountingError.invalid("--devices must be at least 1, got \(devices)") }
        switch throughput {
        case .flopsPerSecond(let value): try positive(value, "--flops-per-second")
        case .tokensPerSecond(let value): try positive(value, "--tokens-per-second")
        case .peak(let peak, let utilization):
            try positive(peak, "--peak-flops")
            guard utilization > 0, utilization <= 1 else {
                throw AccountingError.invalid("--mfu must be in (0, 1], got \(utilization)")
            }
        case nil: break
        }
        if let price = pricePerDeviceHour {
            guard price.isFinite, price >= 0 else { throw AccountingError.invalid("--price-per-hour must not be negative, got \(price)") }
            guard throughput != nil else {
                throw AccountingError.invalid("--price-per-hour needs a throughput: --flops-per-second, --tokens-per-second or --peak-flops with --mfu")
            }
        }
        if let context = inferenceContext {
            guard context > 0 else { throw AccountingError.invalid("--inference-context must be positive, got \(context)") }
            guard model.knowsArchitecture else {
                throw AccountingError.invalid("--inference-context needs a model config (--layers --heads --width --context --vocab), not --params")
            }
        }
    }
}

/// Compute, time and cost of training and running a model.
///
/// With N = total parameters (LM head tied, counted once), D = training tokens, n_layer, n_ctx = the
/// model's context length, d_model = width (d_attn = d_model):
///
///     training FLOPs  = D * (6*N + 6*n_layer*n_ctx*d_model)
///     PF-days         = training FLOPs / (1e15 * 86400)
///     inference FLOPs per generated token = 2*N + 2*n_layer*n_ctx'*d_model   (n_ctx' = --inference-context)
///
/// This is Kaplan et al. (2020), Table 1: forward pass C_forward = 2N + 2*n_layer*n_ctx*d_attn per token,
/// and training (forward + backward) is 3x the forward pass. Kaplan's N excludes embeddings; here N is the
/// total count, as in the GPT-3 paper's compute table (Brown et al. 2020, Appendix D), because the tied
/// LM head is a real (V x d_model) matmul per token. With a raw parameter count the attention term is 0,
/// which reproduces the widely quoted GPT-3 figure: 6 * 175e9 * 300e9 = 3.15e23 FLOPs = 3646 PF-days
/// (the paper's 3.14e23 / 3640 uses N = 174.6e9).
///
/// Time = training FLOPs / achieved FLOP/s (or D / tokens per second); cost = hours * devices * price.
/// Inference cost assumes the same achieved FLOP/s as training; batch-1 decoding is usually memory-bound
/// and slower, so treat it as a lower bound.
public struct ComputeEstimate: Codable, Equatable, Sendable {
    public static let flopsPerPFDay = 1e15 * 86_400
    public static let formula = "training FLOPs = D * (6*N + 6*n_layer*n_ctx*d_model); "
        + "inference FLOPs/token = 2*N + 2*n_layer*n_ctx*d_model (Kaplan et al. 2020; N = total parameters)"

    public var totalParameters: Double
    public var nonEmbeddingParameters: Double?
    public var trainingTokens: Double
    /// 6*N
    public var denseTrainingFLOPsPerToken: Double
    /// 6*n_layer*n_ctx*d_model, 0 when the architecture is unknown.
    public var attentionTrainingFLOPsPerToken: Double
    public var trainingFLOPsPerToken: Double
    public var trainingFLOPs: Double
    public var pfDays: Double
    public var devices: Int
    /// FLOP/s the whole job achieves; nil without a throughput.
    public var achievedFLOPsPerSecond: Double?
    public var trainingSeconds: Double?
    public var trainingCost: Double?
    public var inferenceContext: Int?
    public var inferenceFLOPsPerToken: Double
    public var inferenceSecondsPer1kTokens: Double?
    public var inferenceCostPer1kTokens: Double?
    public var formula: String

    public init(_ request: EstimateRequest) throws {
        try request.validate()
        let model = request.model
        let n = model.totalParameters
        let d = request.tokens
        totalParameters = n
        nonEmbeddingParameters = model.nonEmbeddingParameters
        trainingTokens = d
        denseTrainingFLOPsPerToken = 6 * n
        attentionTrainingFLOPsPerToken = 3 * model.forwardAttentionFLOPsPerToken(context: model.contextLength ?? 0)
        trainingFLOPsPerToken = denseTrainingFLOPsPerToken + attentionTrainingFLOPsPerToken
        trainingFLOPs = d * trainingFLOPsPerToken
        pfDays = trainingFLOPs / Self.flopsPerPFDay
        devices = request.devices
        inferenceContext = request.inferenceContext ?? model.contextLength
        inferenceFLOPsPerToken = 2 * n + model.forwardAttentionFLOPsPerToken(context: inferenceContext ?? 0)
        formula = Self.formula

        switch request.throughput {
        case .flopsPerSecond(let value): achievedFLOPsPerSecond = value
        case .tokensPerSecond(let value): achievedFLOPsPerSecond = value * trainingFLOPsPerToken
        case .peak(let peak, let utilization): achievedFLOPsPerSecond = Double(request.devices) * peak * utilization
        case nil: achievedFLOPsPerSecond = nil
        }
        if case .tokensPerSecond(let value) = request.throughput {
            trainingSeconds = d / value
        } else {
            trainingSeconds = achievedFLOPsPerSecond.map { trainingFLOPs / $0 }
        }
        inferenceSecondsPer1kTokens = achievedFLOPsPerSecond.map { 1000 * inferenceFLOPsPerToken / $0 }
        let pricePerSecond = request.pricePerDeviceHour.map { $0 * Double(request.devices) / 3600 }
        trainingCost = pricePerSecond.flatMap { price in trainingSeconds.map { $0 * price } }
        inferenceCostPer1kTokens = pricePerSecond.flatMap { price in inferenceSecondsPer1kTokens.map { $0 * price } }
    }
}
