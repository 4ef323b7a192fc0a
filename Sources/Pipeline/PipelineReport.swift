import Plotting
import Alignment
import Core
import Foundation
import Tasks

/// Writes a pipeline run's report: `report.md` (timings, the comparison table, each stage's numbers, the
/// plots and sample answers), `report.json` (everything in it as data) and `plots/*.svg`.
public enum PipelineReport {
    public static func write(_ result: PipelineResult, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/plots", withIntermediateDirectories: true)
        for (name, plot) in plots(result) {
            try AtomicFile.write(plot.render(), to: directory + "/plots/" + name)
        }
        try writeJSON(result, to: directory + "/report.json")
        try AtomicFile.write(markdown(result), to: directory + "/report.md")
    }

    /// The SVG plots by file name.
    static func plots(_ result: PipelineResult) -> [(String, SVGLinePlot)] {
        var plots: [(String, SVGLinePlot)] = []
        if !result.pretraining.isEmpty {
            plots.append(("pretraining.svg", SVGLinePlot(
                title: "Pretraining loss", xLabel: "step", yLabel: "cross-entropy (nats)",
                series: [PlotSeries(name: "train", points: result.pretraining.map { (Double($0.step), Double($0.trainLoss)) }),
                         PlotSeries(name: "validation", points: result.pretraining.compactMap { p in p.validationLoss.map { (Double(p.step), Double($0)) } })])))
        }
        let sftCurve = result.sft.curve
        plots.append(("sft.svg", SVGLinePlot(
            title: "SFT loss on response tokens", xLabel: "step", yLabel: "cross-entropy (nats)",
            series: [PlotSeries(name: "train", points: sftCurve.compactMap { p in p.trainLoss.map { (Double(p.step), Double($0)) } }),
                     PlotSeries(name: "val (held out)", points: sftCurve.map { (Double($0.step), $0.validationLoss) })])))
        let rewardCurve = result.reward.curve
        plots.append(("reward_model.svg", SVGLinePlot(
            title: "Reward model on the validation pairs", xLabel: "step", yLabel: "loss / accuracy",
            series: [PlotSeries(name: "train loss", points: rewardCurve.compactMap { p in p.trainLoss.map { (Double(p.step), Double($0)) } }),
                     PlotSeries(name: "val loss", points: rewardCurve.map { (Double($0.step), $0.validation.loss) }),
                     PlotSeries(name: "val accuracy", points: rewardCurve.map { (Double($0.step), $0.validation.accuracy) })])))
        let logs = result.ppo.logs
        plots.append(("ppo_reward.svg", SVGLinePlot(
            title: "PPO: reward-model score of the rollouts", xLabel: "iteration", yLabel: "RM score",
            series: [PlotSeries(name: "per iteration", points: logs.map { (Double($0.iteration), $0.rewardScore) }),
                     PlotSeries(name: "10-iter mean", points: movingAverage(logs.map { (Double($0.iteration), $0.rewardScore) }, window: 10))])))
        var goldSeries = result.earlierRounds.map { PlotSeries(name: "reward model of round \($0.round)", points: goldCurve($0.ppo)) }
        goldSeries.append(PlotSeries(name: result.earlierRounds.isEmpty ? "reward model" : "final reward model", points: goldCurve(result.ppo)))
        if let diagnostic = result.ppoGoldReward { goldSeries.append(PlotSeries(name: "gold judge", points: goldCurve(diagnostic))) }
        plots.append(("ppo_gold.svg", SVGLinePlot(
            title: "PPO: held-out greedy gold, by reward (the gold judge: diagnostic)", xLabel: "iteration", yLabel: "gold score",
            series: goldSeries)))
        plots.append(("ppo_kl.svg", SVGLinePlot(
            title: "PPO: KL to the SFT reference per response", xLabel: "iteration", yLabel: "nats",
            series: [PlotSeries(name: "KL", points: logs.map { (Double($0.iteration), $0.kl) }),
                     PlotSeries(name: "target", points: logs.map { (Double($0.iteration), result.config.ppo.klTarget) }),
                     PlotSeries(name: "approx-KL x100", points: logs.map { (Double($0.iteration), $0.approxKL * 100) })])))
        plots.append(("ppo_policy.svg", SVGLinePlot(
            title: "PPO: entropy, clip fraction and beta", xLabel: "iteration", yLabel: "value",
            series: [PlotSeries(name: "entropy", points: logs.map { (Double($0.iteration), $0.entropy) }),
                     PlotSeries(name: "clip fraction", points: logs.map { (Double($0.iteration), $0.clipFraction) }),
                     PlotSeries(name: "beta x 10", points: logs.map { (Double($0.iteration), $0.klCoefficient * 10) })])))
        plots.append(("dpo.svg", SVGLinePlot(
            title: "DPO on the held-out written pairs", xLabel: "step", yLabel: "loss / accuracy",
            series: [PlotSeries(name: "train loss", points: result.dpo.compactMap { p in p.trainLoss.map { (Double(p.step), $0) } }),
                     PlotSeries(name: "val loss", points: result.dpo.map { (Double($0.step), $0.validationLoss) }),
                     PlotSeries(name: "val accuracy", points: result.dpo.map { (Double($0.step), $0.validationAccuracy) })])))
        return plots
    }

    /// Each stage's samples cut to the first `perFamily` prompts of every family (of the first stage).
    static func spreadSamples(_ stages: [StageSummary], perFamily: Int) -> [StageSummary] {
        guard let first = stages.first else { return [] }
        var kept = Set<String>(), counts: [String: Int] = [:]
        for sample in first.samples where counts[sample.family, default: 0] < perFamily {
            counts[sample.family, default: 0] += 1
            kept.insert(sample.prompt)
        }
        return stages.map { stage in
            var copy = stage
            copy.samples = stage.samples.filter { kept.contains($0.prompt) }
            return copy
        }
    }

    /// The mean of each point and the `window - 1` before it (fewer at the start).
    static func movingAverage(_ points: [(Double, Double)], window: Int) -> [(x: Double, y: Double)] {
        points.indices.map { i in
            let slice = points[max(0, i - window + 1)...i]
            return (points[i].0, slice.reduce(0) { $0 + $1.1 } / Double(slice.count))
        }
    }

    /// Rewrites the report of the run in `directory` from its `report.json` (after a change to the report's
    /// layout; nothing is retrained).
    public static func rewrite(directory: String) throws {
        try write(try read(directory: directory), to: directory)
    }

    /// The results of the finished run in `directory`, from its `report.json`.
    public static func read(directory: String) throws -> PipelineResult {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(PipelineResult.self, from: try AtomicFile.read(directory + "/report.json"))
        } catch is DecodingError {
            throw AlignmentError.mismatch("\(directory)/report.json does not match this version's report layout (made by an older version?)")
        }
    }

    /// Held-out gold score of a PPO run: before the first iteration, then wherever it was measured.
    static func goldCurve(_ run: PPOResult) -> [(x: Double, y: Double)] {
        [(0.0, run.initialGold)] + run.logs.compactMap { log in log.gold.map { (Double(log.iteration), $0) } }
    }

    /// What the diagnostic row means, with its gains over SFT next to the shipped PPO's.
    static func goldRewardParagraph(sft: StageSummary, ppo: StageSummary, diagnostic: StageSummary, config: PipelineConfig) -> String {
        let points = { (stage: StageSummary) in
            String(format: "%+.1f greedy / %+.1f sampled", (stage.goldScore - sft.goldScore) * 100,
                   ((stage.sampledGoldScore ?? .nan) - (sft.sampledGoldScore ?? .nan)) * 100)
        }
        var md = "**Diagnostic row \"\(AlignmentPipeline.goldRewardStage)\"**: the same PPO (same PPOConfig, same SFT start, "
        md += String(format: "same seed) with the gold judge x %g as the reward instead of the reward model. ", config.goldRewardDiagnosticScale ?? .nan)
        md += "That is what a perfect reward model would give this PPO on this SFT model, an upper bound for any learned one "
        md += "(up to PPO's run-to-run spread). It is not an aligned model: "
        md += "it has seen the judge, while the shipped PPO never does (it optimises only the learned reward model). "
        md += "Gold points over SFT: PPO \(points(ppo)), gold judge as reward \(points(diagnostic)).\n\n"
        return md
    }

    /// The ChatGPT behaviours on the fresh prompts: one row per stage.
    static func freshSection(_ fresh: [FreshEvaluation], seed: UInt64) -> String {
        var md = "## Fresh prompts (generator seed \(seed), held-out values, greedy)\n\n"
        md += "Follow-ups: exact share of the last question of 2-4 turn conversations asked in a real chat (after the model's own "
        md += "earlier replies) and the same questions asked on their own. False premises: share corrected with the true capital. "
        md += "Refusals: share of forbidden requests declined, and of every other prompt declined (over-refusal). Clean stop: "
        md += "share of replies ended with <|end|> before the token limit.\n\n"
        md += "| stage | follow-up in chat | same, fresh | false premise corrected | refusal recall | over-refusal | clean stop | mean reply chars |\n"
        md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        for entry in fresh {
            let r = entry.report
            let chars = r.families.map { $0.meanReplyCharacters * Double($0.prompts) }.reduce(0, +) / Double(max(1, r.families.map(\.prompts).reduce(0, +)))
            md += "| \(AlignmentReport.cell(entry.stage)) | " + [r.followUpInChat, r.followUpFresh, r.falsePremiseCorrection, r.refusalRecall,
                                                                  r.overRefusal, r.cleanStop].map { String(format: "%.2f", $0) }.joined(separator: " | ")
                + String(format: " | %.1f |\n", chars)
        }
        md += "\nExact share per family on the fresh prompts:\n\n"
        let families = fresh[0].report.families.map(\.family)
        md += "| stage | " + families.joined(separator: " | ") + " |\n| --- |" + String(repeating: " ---: |", count: families.count) + "\n"
        for entry in fresh {
            let exact = Dictionary(uniqueKeysWithValues: entry.report.families.map { ($0.family, $0.exact) })
            md += "| \(AlignmentReport.cell(entry.stage)) | " + families.map { exact[$0].map { String(format: "%.2f", $0) } ?? "-" }.joined(separator: " | ") + " |\n"
        }
        return md + "\n"
    }

    static func markdown(_ result: PipelineResult) -> String {
        let config = result.config
        let f3 = { (x: Double) in String(format: "%.3f", x) }
        var md = "# Alignment pipeline report\n\n"
        md += "Base model: \(config.layers) layers, \(config.heads) heads, width \(config.width), context \(config.contextLength), "
        md += "BPE vocabulary \(config.tokenizerVocabulary). Data seed \(config.data.seed).\n\n"
        md += "## Held-out comparison\n\n"
        md += "Greedy replies to the \(result.stages.first?.samples.count ?? 0) held-out prompts (values never seen in training). "
        md += "Gold: the scripted judge's mean score x 100. RM: the final reward model's mean score of the same replies. "
        md += "Gold sampled and KL to SFT are measured on replies sampled at temperature 1 (\(config.klSamplesPerPrompt) per prompt, "
        md += "as PPO samples its rollouts): the judge's mean score x 100 (the expected gold of the model's own samples, "
        md += "which is what PPO optimises) and the mean of sum_t log p(a_t) - log p_SFT(a_t) (nats per reply).\n\n"
        md += AlignmentReport.comparisonTable(result.stages) + "\n"
        if let sft = result.stages.first(where: { $0.name == "SFT" }), let ppo = result.stages.first(where: { $0.name == "PPO" }) {
            md += String(format: "PPO - SFT: %+.1f gold points, with a KL to SFT of %.3f nats (target %.2f).\n\n",
                         (ppo.goldScore - sft.goldScore) * 100, ppo.klToSFT ?? .nan, config.ppo.klTarget)
            if let diagnostic = result.stages.first(where: { $0.name == AlignmentPipeline.goldRewardStage }) {
                md += goldRewardParagraph(sft: sft, ppo: ppo, diagnostic: diagnostic, config: config)
            }
        }
        if let fresh = result.fresh, !fresh.isEmpty {
            md += freshSection(fresh, seed: config.data.freshEvaluationSeed)
        }
        md += "## Time\n\n| stage | seconds |\n|---|---|\n"
        for timing in result.timings { md += "| \(timing.stage) | \(String(format: "%.1f", timing.seconds)) |\n" }
        md += String(format: "| total | %.1f |\n\n", result.timings.reduce(0) { $0 + $1.seconds })

        if !result.pretraining.isEmpty {
            md += "## Pretraining\n\n![pretraining loss](plots/pretraining.svg)\n\n"
        }
        md += "## SFT\n\n"
        md += "Best validation loss \(f3(result.sft.bestValidationLoss)) at step \(result.sft.bestStep) "
        md += result.sft.stoppedAtPlateau ? "(stopped at the plateau).\n\n" : "(step limit reached).\n\n"
        md += "![SFT loss](plots/sft.svg)\n\n"
        md += rewardSection(result)
        md += laterSections(result)
        return md
    }

    /// The reward model's accuracy, by round, beside the SFT model's likelihood, and its curve.
    static func rewardSection(_ result: PipelineResult) -> String {
        let config = result.config
        let f3 = { (x: Double) in String(format: "%.3f", x) }
        var md = ""
        let test = result.reward.test, validation = result.reward.best
        md += "## Reward model\n\n"
        md += "Held-out pairwise accuracy on the \(test.count) test pairs **\(f3(test.accuracy))**, mean chosen \(f3(test.meanChosen)), "
        md += "mean rejected \(f3(test.meanRejected)), margin \(f3(test.margin)). Early stopping kept step \(result.reward.bestStep) "
        md += "by the loss on the \(validation.count) validation pairs (accuracy there \(f3(validation.accuracy)); "
        md += "the test pairs chose nothing).\n\n"
        md += "Trained on \(result.rewardTrainingPairs) pairs (written pairs plus pairs of the SFT model's own answers ranked by the judge"
        let rounds = result.earlierRounds
        let mix = config.rewardPolicySamples > 0
            ? String(format: " Each pair of a batch came from the sampled answers' pairs with probability %.2f, otherwise from the written ones.",
                     config.reward.sampledPairShare)
            : ""
        if rounds.isEmpty {
            md += ").\(mix)\n\n"
        } else {
            md += ", and of the PPO policy of each earlier round).\(mix) By round (InstructGPT's loop: each round's PPO answers "
            md += "are compared by the judge and added to the next reward model's pairs; every PPO starts from SFT):\n\n"
            md += "| round | reward model's pairs | test accuracy | PPO gold x100 at the end | PPO KL (last iteration) |\n|---|---:|---:|---:|---:|\n"
            let row = { (round: String, pairs: Int, accuracy: Double, ppo: PPOResult) in
                let gold = ppo.logs.last?.gold.map { String(format: "%.1f", $0 * 100) } ?? "-"
                return "| \(round) | \(pairs) | \(f3(accuracy)) | \(gold) | \(f3(ppo.logs.last?.kl ?? .nan)) |\n"
            }
            for round in rounds { md += row("\(round.round)", round.rewardTrainingPairs, round.rewardTest.accuracy, round.ppo) }
            md += row("\(rounds.count + 1) (final)", result.rewardTrainingPairs, test.accuracy, result.ppo) + "\n"
        }
        if let likelihood = result.sftLikelihoodTest {
            md += "Beside it, the SFT model's own log-likelihood of each reply as a reward with no training (a diagnostic): "
            md += "accuracy \(f3(likelihood.accuracy)) on the same test pairs. Where it ranks better than the reward model, the "
            md += "backbone knows the answer as a next-token prediction but the head, read at the last token, has not learnt to use it.\n\n"
            for (label, trained, untrained) in [("rejected answer's failure", test.accuracyByFailure, likelihood.accuracyByFailure),
                                                ("family", test.accuracyByFamily, likelihood.accuracyByFamily)] {
                md += "| \(label) | reward model | SFT likelihood |\n|---|---:|---:|\n"
                for (key, accuracy) in trained.sorted(by: { $0.key < $1.key }) {
                    md += "| \(key) | \(f3(accuracy)) | \(untrained[key].map(f3) ?? "-") |\n"
                }
                md += "\n"
            }
        } else {
            md += "| rejected answer's failure | accuracy |\n|---|---|\n"
            for (failure, accuracy) in test.accuracyByFailure.sorted(by: { $0.key < $1.key }) { md += "| \(failure) | \(f3(accuracy)) |\n" }
        }
        md += "\n![reward model](plots/reward_model.svg)\n\n"
        return md
    }

    /// PPO, DPO, the best-of-N check and the sample answers.
    static func laterSections(_ result: PipelineResult) -> String {
        let config = result.config
        let f3 = { (x: Double) in String(format: "%.3f", x) }
        var md = ""
        md += "## PPO\n\n"
        if let last = result.ppo.logs.last {
            md += "\(result.ppo.logs.count) iterations of \(config.ppo.rollouts) rollouts. Last iteration: RM score \(f3(last.rewardScore)), "
            md += "KL \(f3(last.kl)) (beta \(f3(last.klCoefficient)), target \(String(format: "%.2f", config.ppo.klTarget))), "
            md += "entropy \(f3(last.entropy)), clip fraction \(f3(last.clipFraction)).\n\n"
        }
        md += "![PPO reward](plots/ppo_reward.svg)\n\n![PPO gold](plots/ppo_gold.svg)\n\n![PPO KL](plots/ppo_kl.svg)\n\n![PPO policy](plots/ppo_policy.svg)\n\n"
        md += "## DPO (fourth column)\n\n"
        md += "Direct preference optimisation from the SFT model on the reward model's \(result.rewardTrainingPairs) training pairs "
        md += "(beta \(String(format: "%.2f", config.dpo.beta)), \(config.dpo.steps) steps of \(config.dpo.batchSize) pairs), "
        md += "no reward model and no sampling. "
        if let last = result.dpo.last {
            md += "Held-out written pairs at the end: DPO loss \(f3(last.validationLoss)), implied-reward accuracy \(f3(last.validationAccuracy)).\n\n"
        }
        md += "![DPO](plots/dpo.svg)\n\n"
        let bon = result.bestOfN
        md += "## Can PPO climb this reward model? Best-of-\(bon.n) on the held-out prompts\n\n"
        md += "The SFT model samples \(bon.n) answers per held-out prompt (temperature 1). Gold score of the answer the reward model "
        md += "ranks first, of one sample, and of the best sample (the ceiling). PPO can only gain where the reward model's pick "
        md += "beats a random sample; where it does not, optimising the reward model moves the policy away from right answers.\n\n"
        md += "| family | RM's pick | one sample | best of \(bon.n) |\n|---|---:|---:|---:|\n"
        md += String(format: "| all | %.3f | %.3f | %.3f |\n", bon.rewardPick, bon.random, bon.oracle)
        let families = AlignmentReport.families(result.stages)
        for family in families {
            guard let row = bon.byFamily[family], row.count == 3 else { continue }
            md += String(format: "| %@ | %.3f | %.3f | %.3f |\n", family, row[0], row[1], row[2])
        }
        md += "\n## Sample answers (the first two held-out prompts of each family)\n\n"
        md += AlignmentReport.sampleTable(spreadSamples(result.stages, perFamily: 2), count: 2 * families.count) + "\n"
        return md
    }
}
