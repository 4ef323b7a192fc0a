import Foundation
import Pipeline

/// One target a pipeline run is held to: what it asks, what the run measured, and whether it is met.
struct AlignmentBar: Equatable, Sendable {
    var name: String
    var required: String
    var measured: String
    var met: Bool
}

/// The acceptance targets an earlier issue set for the pipeline (the reward model's held-out accuracy, SFT far
/// above base, PPO above SFT under the KL target, the whole run's time), judged from one run's results; and,
/// where PPO falls short, that run's own evidence of why. Test code: targets are not part of the library.
enum AlignmentBars {
    static let rewardAccuracy = 0.90
    /// "Far above base": this project reads it as at least 20 held-out gold points (of 100).
    static let sftGainPoints = 20.0
    static let ppoGainPoints = 10.0
    static let pipelineSeconds = 30.0 * 60
    /// Iterations averaged at each end of the PPO reward curve to say whether it rose, stayed flat or fell.
    static let rewardWindow = 10
    /// A change of the rollouts' mean reward-model score smaller than this is "flat".
    static let flatRewardChange = 0.1

    static func stage(_ name: String, in result: PipelineResult) -> StageSummary? {
        result.stages.first { $0.name == name }
    }

    /// Held-out greedy gold points gained over `from` (x 100).
    static func gain(_ stage: StageSummary, over from: StageSummary) -> Double { (stage.goldScore - from.goldScore) * 100 }

    /// The bars in a fixed order; a bar whose stage is missing from `result` is reported as not met.
    static func evaluate(_ result: PipelineResult) -> [AlignmentBar] {
        let accuracy = result.reward.test.accuracy
        var bars = [AlignmentBar(name: "reward model", required: String(format: "held-out pairwise accuracy at least %.2f", rewardAccuracy),
                                 measured: String(format: "%.3f on %d test pairs", accuracy, result.reward.test.count),
                                 met: accuracy >= rewardAccuracy)]
        let base = stage("base", in: result), sft = stage("SFT", in: result)
        let sftGain = base.flatMap { base in sft.map { gain($0, over: base) } }
        bars.append(AlignmentBar(name: "SFT over base", required: String(format: "at least %+.0f gold points", sftGainPoints),
                                 measured: sftGain.map { String(format: "%+.1f", $0) } ?? "-",
                                 met: (sftGain ?? -.infinity) >= sftGainPoints))
        bars.append(ppoBar(result))
        let seconds = result.timings.reduce(0) { $0 + $1.seconds }
        bars.append(AlignmentBar(name: "pipeline time", required: String(format: "at most %.0f minutes", pipelineSeconds / 60),
                                 measured: String(format: "%.1f minutes", seconds / 60), met: seconds <= pipelineSeconds))
        return bars
    }

    /// PPO at least `ppoGainPoints` over SFT with its held-out KL to SFT under the run's KL target.
    static func ppoBar(_ result: PipelineResult) -> AlignmentBar {
        let sft = stage("SFT", in: result), ppo = stage("PPO", in: result)
        let ppoGain = sft.flatMap { sft in ppo.map { gain($0, over: sft) } }
        let kl = ppo?.klToSFT ?? .nan, target = result.config.ppo.klTarget
        return AlignmentBar(name: "PPO over SFT",
                            required: String(format: "at least %+.0f gold points, held-out KL to SFT under %.2f", ppoGainPoints, target),
                            measured: ppoGain.map { String(format: "%+.1f, KL %.3f", $0, kl) } ?? "-",
                            met: (ppoGain ?? -.infinity) >= ppoGainPoints && kl < target)
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

    /// | bar | required | this run | met |
    static func table(_ bars: [AlignmentBar]) -> String {
        var lines = [row(["bar", "required", "this run", "met"]), row(["---", "---", "---", "---"])]
        for bar in bars {
            lines.append(row([bar.name, bar.required, bar.measured, bar.met ? "yes" : "**no**"].map(AlignmentReport.cell)))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Why PPO fell short of its bar, in this run's own numbers: the gold-judge diagnostic's gain (how far a
    /// perfect reward takes the same PPO), the reward and gold curves, the KL against its target, and the
    /// reward model's best-of-N pick. nil when the PPO bar is met or there is no PPO run to read.
    static func ppoShortfall(_ result: PipelineResult) -> String? {
        guard let sft = stage("SFT", in: result), let ppo = stage("PPO", in: result), let last = result.ppo.logs.last,
              !ppoBar(result).met else { return nil }
        let logs = result.ppo.logs, target = result.config.ppo.klTarget
        var reasons = [String(format: "PPO gains %+.1f held-out gold points over SFT (bar %+.0f) at a held-out KL of %.3f (target %.2f).",
                              gain(ppo, over: sft), ppoGainPoints, ppo.klToSFT ?? .nan, target)]
        if let diagnostic = stage(AlignmentPipeline.goldRewardStage, in: result) {
            let twin = gain(diagnostic, over: sft), twinKL = diagnostic.klToSFT ?? .nan
            reasons.append(twin < ppoGainPoints
                ? String(format: "The same PPO with the gold judge itself as its reward gains %+.1f (KL %.3f), also under the bar: on this SFT "
                             + "model even a perfect reward model would not clear it, so the shortfall is not the reward model's alone.", twin, twinKL)
                : String(format: "The same PPO with the gold judge itself as its reward gains %+.1f (KL %.3f): a perfect reward gets that far "
                             + "on this SFT model, so what the reward model gets wrong holds PPO back (test accuracy %.3f).",
                             twin, twinKL, result.reward.test.accuracy))
        }
        let window = min(rewardWindow, logs.count)
        let start = mean(logs.prefix(window).map(\.rewardScore)), end = mean(logs.suffix(window).map(\.rewardScore))
        let trend = abs(end - start) < flatRewardChange ? "stayed flat" : end > start ? "rose" : "fell"
        reasons.append(String(format: "The rollouts' reward-model score \(trend), from %.3f (mean of the first %d iterations) to %.3f "
                                     + "(the last %d; `ppo_reward.svg`).", start, window, end, window))
        let curve = [(x: 0.0, y: result.ppo.initialGold)] + result.ppo.logs.compactMap { log in log.gold.map { (x: Double(log.iteration), y: $0) } }
        if let peak = curve.max(by: { $0.y < $1.y }) {
            reasons.append(String(format: "Held-out greedy gold went from %.1f to a peak of %.1f at iteration %.0f and ended at %.1f "
                                         + "(`ppo_gold.svg`).", result.ppo.initialGold * 100, peak.y * 100, peak.x, ppo.goldScore * 100))
        }
        let over = logs.filter { $0.kl > target }.count
        reasons.append(String(format: "The rollouts' KL to SFT was over the target in %d of %d iterations, and %.3f at the last "
                                     + "(`ppo_kl.svg`).", over, logs.count, last.kl))
        let bon = result.bestOfN
        reasons.append(String(format: "Among %d SFT samples per held-out prompt the reward model's pick scores %.3f, a random sample %.3f, "
                                     + "the best %.3f (the best-of-%d table).", bon.n, bon.rewardPick, bon.random, bon.oracle, bon.n))
        return "Why PPO is under its bar, from this run:\n\n" + reasons.map { "- " + $0 + "\n" }.joined() + "\n"
    }
}
