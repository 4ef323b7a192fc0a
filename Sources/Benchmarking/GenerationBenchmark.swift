import Core
import Foundation
import Model

/// Model shapes for the inference benchmark, named after the peers they are compared with.
public struct GenerationShape: Codable, Sendable {
    public var name: String
    public var model: ModelConfig

    /// llama2.c's stories15M shape (width 384, 6 layers, 6 heads, vocab 4096) and the Hugging Face peer's
    /// (the same with the 65-character Shakespeare vocabulary). The context is 512 so that a 256-token prompt
    /// plus 128 new tokens never fills it (no rebuild inside a measurement).
    public static let presets: [String: GenerationShape] = [
        "L": GenerationShape(name: "L", model: ModelConfig(vocabularySize: 4096, contextLength: 512, layers: 6, heads: 6, width: 384)),
        "M": GenerationShape(name: "M", model: ModelConfig(vocabularySize: 65, contextLength: 512, layers: 6, heads: 6, width: 384)),
    ]
}

/// One shape at one thread count, llama-bench style: prefill of a `promptTokens` prompt, time to first token
/// (prefill + choosing the token) and decoding of `newTokens` tokens one at a time through the KV cache.
public struct GenerationBenchmarkResult: Codable, Sendable {
    public var shape: String
    public var threads: Int
    /// Precision of the weights the decoding steps use (prefill is always fp32).
    public var weights: DecodeWeights
    public var promptTokens: Int
    public var newTokens: Int
    public var prefillMilliseconds: Measurement
    public var timeToFirstTokenMilliseconds: Measurement
    public var decodeMilliseconds: Measurement
    public var prefillTokensPerSecond: Double
    public var decodeTokensPerSecond: Double
    /// Decode tokens/s of the fastest and slowest run (the spread around the median).
    public var decodeTokensPerSecondRange: [Double]
    public var prefillTokensPerSecondRange: [Double]
    /// Largest |cached - recomputed| logit difference of the validation run (fp32 recomputation, so for int8
    /// weights this is the quantization error).
    public var validationMaxAbsDifference: Float
    public var peakMemoryMB: Double
    /// Cores other processes kept busy during the timed runs (0 on a quiet machine).
    public var foreignLoadCores: Double
}

public enum GenerationBenchmark {
    /// Validates (the cached logits after the prompt and one decoded token match a full recomputation),
    /// warms up, then times `repeats` runs of prefill + decode with greedy choices on random weights.
    public static func run(shape: GenerationShape, threads: Int, promptTokens: Int = 256, newTokens: Int = 128,
                           weights: DecodeWeights = .float32, warmup: Int = 1, repeats: Int = 5) throws -> GenerationBenchmarkResult {
        try ComputeThreads.set(threads)
        guard promptTokens >= 1, newTokens >= 1, promptTokens <= shape.model.contextLength - newTokens else {
            throw ModelError.badInput("prompt \(promptTokens) + new \(newTokens) tokens exceed the context \(shape.model.contextLength)")
        }
        var generator = SeededGenerator(seed: 7)
        let model = try GPT(config: shape.model, generator: &generator)
        let v = shape.model.vocabularySize
        let prompt = (0..<promptTokens).map { _ in generator.nextInt(below: v) }
        let session = try InferenceSession(engine: try InferenceEngine(model: model, decodeWeights: weights))

        // Validation against the training forward pass.
        try session.append(prompt)
        try session.append([argmax(session.logits)])
        let cached = Array(session.logits)
        let tokens = session.tokens
        try model.forward(tokens: tokens.map(Int32.init), batch: 1, time: tokens.count)
        let expected = model.logits(row: tokens.count - 1)
        let difference = zip(cached, expected).map { abs($0 - $1) }.max() ?? .infinity
        let allowed: Float = weights == .float32 ? 1e-3 : 0.02 + 0.05 * (expected.map(abs).max() ?? 0)
        guard difference < allowed else {
            throw ModelError.badInput("benchmark validation failed: cached logits differ from recomputation by \(difference)")
        }

        let clock = ContinuousClock()
        func milliseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
        }
        var prefill: [Double] = [], firstToken: [Double] = [], decode: [Double] = []
        var load = ForeignLoad()
        for run in 0..<(warmup + repeats) {
            if run == warmup { load.reset() }
            session.reset()
            let start = clock.now
            try session.append(prompt)
            let prefilled = clock.now
            var token = argmax(session.logits)
            let first = clock.now
            for _ in 0..<newTokens {
                try session.append([token])
                token = argmax(session.logits)
            }
            let end = clock.now
            guard run >= warmup else { continue }
            prefill.append(milliseconds(prefilled - start))
            firstToken.append(milliseconds(first - start))
            decode.append(milliseconds(end - first))
        }
        let foreign = load.cores
        let prefillMeasurement = Measurement(samplesMilliseconds: prefill)
        let decodeMeasurement = Measurement(samplesMilliseconds: decode)
        let prefillRate = { (ms: Double) in Double(promptTokens) / ms * 1000 }
        let decodeRate = { (ms: Double) in Double(newTokens) / ms * 1000 }
        return GenerationBenchmarkResult(
            shape: shape.name, threads: threads, weights: weights, promptTokens: promptTokens, newTokens: newTokens,
            prefillMilliseconds: prefillMeasurement, timeToFirstTokenMilliseconds: Measurement(samplesMilliseconds: firstToken),
            decodeMilliseconds: decodeMeasurement,
            prefillTokensPerSecond: prefillRate(prefillMeasurement.median), decodeTokensPerSecond: decodeRate(decodeMeasurement.median),
            decodeTokensPerSecondRange: [decodeRate(decodeMeasurement.maximum), decodeRate(decodeMeasurement.minimum)],
            prefillTokensPerSecondRange: [prefillRate(prefillMeasurement.maximum), prefillRate(prefillMeasurement.minimum)],
            validationMaxAbsDifference: difference, peakMemoryMB: peakResidentMegabytes(), foreignLoadCores: foreign)
    }

    private static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }
}
