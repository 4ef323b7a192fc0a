import Foundation

/// Linear warm-up to the peak rate, then cosine decay to the minimum at the last step (nanoGPT's get_lr).
public struct LearningRateSchedule: Sendable {
    public let peak: Float
    public let minimum: Float
    public let warmupSteps: Int
    public let totalSteps: Int

    public init(config: TrainConfig) {
        self.init(peak: config.learningRate, minimum: config.minLearningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps)
    }

    public init(peak: Float, minimum: Float, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.minimum = minimum
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// Rate for 0-based optimizer step `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps + 1) }
        if step >= totalSteps || totalSteps <= warmupSteps { return minimum }
        let progress = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
        let cosine = 0.5 * (1 + cos(Double.pi * progress))
        return minimum + Float(cosine) * (peak - minimum)
    }
}
