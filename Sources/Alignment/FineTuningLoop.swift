import Core

/// How long a fine-tuning run goes and when it stops; each stage's config holds one.
public struct StoppingRule: Codable, Equatable, Sendable {
    /// Upper bound on optimizer steps; training usually stops earlier at the validation plateau.
    public var maxSteps: Int
    public var evalEvery: Int
    /// Stop after this many evaluations without a new best validation loss; the best weights are kept.
    public var patience: Int

    public init(maxSteps: Int, evalEvery: Int, patience: Int) {
        self.maxSteps = maxSteps
        self.evalEvery = evalEvery
        self.patience = patience
    }

    func validate(_ stage: String) throws {
        for (name, value) in [("max steps", maxSteps), ("eval every", evalEvery), ("patience", patience)] where value < 1 {
            throw AlignmentError.invalidArgument("\(stage) \(name) must be at least 1, got \(value)")
        }
    }
}

/// A fine-tuning run's evaluations and where it stopped.
public struct FineTuningRun<Point> {
    public var curve: [Point]
    public var best: Point
    /// True when training stopped because the validation loss stopped improving.
    public var stoppedAtPlateau: Bool
}

/// The one loop of SFT, the reward model and DPO: step, evaluate every `evalEvery` steps (and after the
/// last), keep the weights with the lowest validation loss, stop after `patience` evaluations without a new
/// best, and restore the best weights at the end.
enum FineTuningLoop {
    /// `step(index)` runs optimizer step `index` (0-based) and returns its training loss; `evaluate(step,
    /// meanTrainLoss)` measures the held-out set (mean loss since the last evaluation, nil before the first step);
    /// `validationLoss` reads the number that decides what is best.
    static func run<Point>(_ rule: StoppingRule, weights: [FloatBuffer], step: (Int) throws -> Double,
                           evaluate: (Int, Double?) throws -> Point, validationLoss: (Point) -> Double,
                           report: (Point) -> Void) throws -> FineTuningRun<Point> {
        let initial = try evaluate(0, nil)
        report(initial)
        var run = FineTuningRun(curve: [initial], best: initial, stoppedAtPlateau: false)
        let kept = weights.map { buffer in FloatBuffer(count: buffer.count) }
        for (copy, buffer) in zip(kept, weights) { copy.copy(from: buffer) }
        var sinceBest = 0, recent = 0.0, recentCount = 0
        for index in 0..<rule.maxSteps {
            recent += try step(index)
            recentCount += 1
            guard (index + 1) % rule.evalEvery == 0 || index + 1 == rule.maxSteps else { continue }
            let point = try evaluate(index + 1, recent / Double(recentCount))
            (recent, recentCount) = (0, 0)
            run.curve.append(point)
            report(point)
            if validationLoss(point) < validationLoss(run.best) {
                run.best = point
                for (copy, buffer) in zip(kept, weights) { copy.copy(from: buffer) }
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= rule.patience {
                    run.stoppedAtPlateau = true
                    break
                }
            }
        }
        for (copy, buffer) in zip(kept, weights) { buffer.copy(from: copy) }
        return run
    }
}
