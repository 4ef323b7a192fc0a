import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest

/// The alignment commands end to end on a tiny model, and their one-line errors on bad input.
final class AlignmentCommandTests: XCTestCase {
    @discardableResult
    func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try runMinigpt(arguments)
        XCTAssertEqual(result.status, 0, "minigpt \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        return result
    }

    func assertError(_ arguments: [String], mentions expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runMinigpt(arguments)
        XCTAssertTrue(result.exitedNormally, file: file, line: line)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("Error: ") && result.stderr.contains(expected), result.stderr, file: file, line: line)
    }

    func testDataSFTAndRewardEndToEndOnATinyModel() throws {
        let directory = TemporaryDirectory()
        let data = directory.file("data"), base = directory.file("base"), sft = directory.file("sft"), rm = directory.file("rm")
        try run(["data", "instruct", "--seed", "3", "--out", data, "--sft-train", "60", "--pairs-train", "60", "--ppo-prompts", "10",
                 "--held-out-per-family", "2"])
        try run(["tokenizer", "train", "--input", data + "/pretrain.txt", "--vocab-size", "320", "--special", "<|system|>",
                 "--special", "<|user|>", "--special", "<|assistant|>", "--special", "<|end|>", "--out", directory.file("tok.json")])
        try run(["train", "--corpus", data + "/pretrain.txt", "--tokenizer", directory.file("tok.json"), "--layers", "1", "--heads", "2",
                 "--width", "16", "--context", "128", "--batch", "4", "--steps", "5", "--eval-every", "5", "--eval-batches", "1",
                 "--out", base, "--threads", "1"])
        let sftResult = try run(["sft", "--base", base, "--data", data, "--out", sft, "--steps", "10", "--eval-every", "5",
                                 "--max-new-tokens", "4", "--threads", "1"])
        XCTAssertTrue(sftResult.stdout.contains("held-out gold score: base"), sftResult.stdout)
        let rmResult = try run(["reward", "train", "--init", sft, "--data", data, "--out", rm, "--steps", "10", "--eval-every", "5",
                                "--threads", "1"])
        XCTAssertTrue(rmResult.stdout.contains("held-out test pairs: accuracy"), rmResult.stdout)
        XCTAssertTrue(rmResult.stdout.contains("own likelihood of each reply as the reward") && rmResult.stdout.contains("| likelihood "), rmResult.stdout)
        // The report says what the batches were drawn from: here only the written pairs.
        let rmReport = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rm + "/reward_report.json"))) as? [String: Any]
        let writtenPairs = try String(contentsOfFile: data + "/pairs_train.jsonl", encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(rmReport?["written_pairs"] as? Int, writtenPairs)
        XCTAssertEqual(rmReport?["sampled_pairs"] as? Int, 0)
        XCTAssertNotNil((rmReport?["config"] as? [String: Any])?["sampledPairShare"] as? Double)
        XCTAssertNotNil(rmReport?["test"] as? [String: Any], "the result's keys stay at the top level")
        let score = try run(["reward", "score", "--model", rm, "--prompt", "What is 2 + 3?", "--response", "5"])
        XCTAssertNotNil(Float(score.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), score.stdout)
        let ppo = directory.file("ppo")
        let ppoResult = try run(["ppo", "--policy", sft, "--reward", rm, "--data", data, "--out", ppo, "--iterations", "3",
                                 "--rollouts", "4", "--minibatch", "2", "--max-new-tokens", "4", "--gold-every", "2", "--threads", "1"])
        XCTAssertTrue(ppoResult.stdout.contains("held-out gold score: sft"), ppoResult.stdout)
        let logLines = try String(contentsOfFile: ppo + "/ppo_metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(logLines.count, 3)
        for key in ["rm_score", "kl", "kl_coef", "entropy", "approx_kl", "clip_fraction", "policy_loss", "value_loss"] {
            XCTAssertTrue(logLines.allSatisfy { $0.contains("\"\(key)\":") }, key)
        }
        XCTAssertEqual(logLines.filter { $0.contains("\"gold\":") }.count, 2, "gold at iteration 2 and at the last")
        // The held-out KL and sampled gold (their math is checked in PPOTrainerTests) reach the report and the summary line.
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ppo + "/ppo_report.json"))) as? [String: Any]
        let heldOutKL = try XCTUnwrap(report?["held_out_kl"] as? Double)
        XCTAssertTrue(heldOutKL.isFinite && heldOutKL != 0, "the policy moved, so its held-out KL is not 0: \(heldOutKL)")
        XCTAssertTrue(ppoResult.stdout.contains(String(format: "held-out kl %.3f", heldOutKL)), ppoResult.stdout)
        // This tiny model's gold is about 0 for both models, so this checks where the values go, not their order.
        let sampledGold = try ["reference_sampled_gold", "held_out_sampled_gold"].map { try XCTUnwrap(report?[$0] as? Double, $0) }
        XCTAssertTrue(ppoResult.stdout.contains(String(format: "(sampled %.3f -> %.3f)", sampledGold[0], sampledGold[1])), ppoResult.stdout)

        // A reward model built on another tokenizer does not match the policy.
        try run(["tokenizer", "train", "--input", data + "/pretrain.txt", "--vocab-size", "330", "--special", "<|system|>",
                 "--special", "<|user|>", "--special", "<|assistant|>", "--special", "<|end|>", "--out", directory.file("tok2.json")])
        try run(["train", "--corpus", data + "/pretrain.txt", "--tokenizer", directory.file("tok2.json"), "--layers", "1", "--heads", "2",
                 "--width", "16", "--context", "128", "--batch", "4", "--steps", "2", "--eval-every", "2", "--eval-batches", "1",
                 "--out", directory.file("base2"), "--threads", "1"])
        try run(["reward", "train", "--init", directory.file("base2"), "--data", data, "--out", directory.file("rm2"), "--steps", "2",
                 "--eval-every", "2", "--threads", "1"])
        try assertError(["ppo", "--policy", sft, "--reward", directory.file("rm2"), "--data", data, "--out", directory.file("ppo2")],
                        mentions: "different tokenizer")
        try assertError(["ppo", "--policy", sft, "--reward", directory.file("missing-rm"), "--data", data, "--out", directory.file("ppo2")],
                        mentions: "missing-rm")
        try assertError(["ppo", "--policy", sft, "--reward", rm, "--data", data, "--out", ppo], mentions: "already holds a model")
        try assertError(["ppo", "--policy", sft, "--reward", rm, "--data", data, "--out", directory.file("ppo3"), "--kl-target", "0"],
                        mentions: "--kl-target must be positive")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("ppo2")))
        // A second reward round samples the PPO policy too; a model on another tokenizer, a missing one, or no
        // --policy-samples to say how many answers: one line each, no reward model written.
        let rm3 = directory.file("rm3")
        try assertError(["reward", "train", "--init", sft, "--data", data, "--out", rm3, "--policy-samples", "1",
                         "--also-sample-from", directory.file("base2")], mentions: "different tokenizer")
        try assertError(["reward", "train", "--init", sft, "--data", data, "--out", rm3, "--policy-samples", "1",
                         "--also-sample-from", directory.file("no-ppo")], mentions: "no-ppo")
        try assertError(["reward", "train", "--init", sft, "--data", data, "--out", rm3, "--also-sample-from", ppo],
                        mentions: "--policy-samples")
        try assertError(["reward", "train", "--init", sft, "--data", data, "--out", rm3, "--sampled-pair-share", "1.5"],
                        mentions: "--sampled-pair-share")
        try assertError(["reward", "train", "--init", sft, "--data", data, "--out", rm3, "--sampled-pair-share", "0.5"],
                        mentions: "--policy-samples")
        XCTAssertFalse(FileManager.default.fileExists(atPath: rm3))
        // With it, the PPO policy's judged answers are added to the SFT model's: the written policy pairs are the
        // SFT model's at --seed followed by the PPO policy's alone at the second sampler's seeds (seed + 2, seed + 3).
        func policyPairs(_ rewardDirectory: String) throws -> [String] {
            try String(contentsOfFile: rewardDirectory + "/policy_pairs.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let common = ["--data", data, "--policy-samples", "2", "--steps", "1", "--eval-every", "1", "--threads", "1"]
        try run(["reward", "train", "--init", sft, "--out", rm3] + common)
        try run(["reward", "train", "--init", sft, "--out", directory.file("rm4"), "--also-sample-from", ppo] + common)
        try run(["reward", "train", "--init", ppo, "--out", directory.file("rm5"), "--seed", "\(1337 + 2)"] + common)
        let (sftPairs, ppoPairs) = (try policyPairs(rm3), try policyPairs(directory.file("rm5")))
        let combined = try policyPairs(directory.file("rm4"))
        XCTAssertTrue(!ppoPairs.isEmpty && sftPairs != ppoPairs, "the PPO policy's pairs are not the SFT model's")
        XCTAssertTrue(combined == sftPairs + ppoPairs, "\(combined.count) pairs; expected the SFT model's \(sftPairs.count) then the PPO policy's \(ppoPairs.count)")
        let combinedReport = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.file("rm4") + "/reward_report.json"))) as? [String: Any]
        XCTAssertEqual(combinedReport?["sampled_pairs"] as? Int, combined.count)

        // Nothing is overwritten: a second run into the same directory is refused.
        try assertError(["sft", "--base", base, "--data", data, "--out", sft], mentions: "already holds a model")
        try assertError(["data", "instruct", "--out", data], mentions: "already holds instruction data")
        for option in ["--sentence-share", "--absent-letter-share"] {
            try assertError(["data", "instruct", "--out", directory.file("z"), option, "1.5"], mentions: "\(option) must be in 0...1, got 1.5")
        }
        // A missing stage directory, a plain model where a reward model is needed.
        try assertError(["sft", "--base", directory.file("nowhere"), "--data", data, "--out", directory.file("x")], mentions: "nowhere")
        try assertError(["reward", "score", "--model", sft, "--prompt", "a", "--response", "b"], mentions: "reward_head.safetensors")
        // A malformed line is named by number.
        let bad = directory.file("bad")
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        for name in ["sft_val.jsonl", "heldout_prompts.jsonl"] {
            try FileManager.default.copyItem(atPath: data + "/" + name, toPath: bad + "/" + name)
        }
        try (#"{"family":"add","prompt":"What is 1 + 2?","response":"3"}"# + "\n{\"family\":\"add\"}\n")
            .write(toFile: bad + "/sft_train.jsonl", atomically: true, encoding: .utf8)
        try assertError(["sft", "--base", base, "--data", bad, "--out", directory.file("y")], mentions: "sft_train.jsonl line 2: missing field")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("y")))
        // SFT rehearses pretrain.txt by default: without it, a one-line error that names the way out.
        try FileManager.default.removeItem(atPath: bad + "/sft_train.jsonl")
        try FileManager.default.copyItem(atPath: data + "/sft_train.jsonl", toPath: bad + "/sft_train.jsonl")
        try assertError(["sft", "--base", base, "--data", bad, "--out", directory.file("y")], mentions: "--pretraining-share 0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.file("y")))
    }

    /// The whole pipeline at its --quick size: every stage's directory, the report with its table and
    /// well-formed SVG plots, and SFT far above the base model (which cannot follow the chat template).
    func testQuickPipelineRunsEveryStageAndWritesTheReport() throws {
        let directory = TemporaryDirectory()
        let out = directory.file("run")
        // --quick's model is 2 blocks of 2 heads; the size options set the base model, which every later stage inherits.
        let result = try run(["pipeline", "--quick", "--layers", "3", "--heads", "4", "--out", out, "--threads", "1"])
        XCTAssertTrue(result.stdout.contains("| PPO |"), result.stdout)
        struct Size: Decodable, Equatable { var layers: Int; var heads: Int }
        for stage in ["sft", "rm", "ppo", "dpo"] {
            let size = try JSONDecoder().decode(Size.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/" + stage + "/config.json")))
            XCTAssertEqual(size, Size(layers: 3, heads: 4), stage)
        }
        for stage in ["base", "sft", "rm_round1", "ppo_round1", "rm", "ppo", "ppo_gold_reward"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + stage), stage)
        }
        let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("| base |") && report.contains("| SFT |") && report.contains("| PPO |"), report)
        XCTAssertFalse(report.contains("## Bars"), "acceptance targets live in the tests, not in the report")
        let plots = try FileManager.default.contentsOfDirectory(atPath: out + "/plots").filter { $0.hasSuffix(".svg") }
        XCTAssertGreaterThanOrEqual(plots.count, 5)
        for plot in plots {
            XCTAssertTrue(report.contains("plots/" + plot), plot)
            XCTAssertNoThrow(try XMLDocument(data: Data(contentsOf: URL(fileURLWithPath: out + "/plots/" + plot))), plot)
        }
        struct Stage: Decodable {
            var name: String
            var gold: Double
            var sampledGold: Double
            enum CodingKeys: String, CodingKey { case name, gold = "gold_score", sampledGold = "sampled_gold_score" }
        }
        struct Round: Decodable { var rewardTrainingPairs: Int }
        struct Metrics: Decodable { var count: Int }
        struct Reward: Decodable { var test: Metrics }
        struct Report: Decodable { var stages: [Stage]; var earlierRounds: [Round]; var rewardTrainingPairs: Int; var reward: Reward; var sftLikelihoodTest: Metrics }
        let diagnostic = "PPO, gold judge as reward (diagnostic)"
        let decoded = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        let stages = decoded.stages
        XCTAssertEqual(stages.map(\.name), ["base", "SFT", "PPO, round 1", "PPO", "DPO", diagnostic])
        // The second reward model keeps the first one's pairs and adds the judge's comparisons of round 1's PPO answers.
        XCTAssertEqual(decoded.earlierRounds.count, 1)
        XCTAssertGreaterThan(decoded.rewardTrainingPairs, decoded.earlierRounds[0].rewardTrainingPairs)
        let pairFile = { (stage: String) in try String(contentsOfFile: out + "/" + stage + "/policy_pairs.jsonl", encoding: .utf8) }
        let (firstPairs, finalPairs) = (try pairFile("rm_round1"), try pairFile("rm"))
        XCTAssertTrue(finalPairs.hasPrefix(firstPairs) && finalPairs.count > firstPairs.count)
        XCTAssertGreaterThan(stages[1].gold, stages[0].gold + 0.05)
        XCTAssertTrue(stages.allSatisfy { (0...1).contains($0.sampledGold) }, "\(stages)")
        XCTAssertTrue(report.contains("| \(diagnostic) |") && report.contains("upper bound"), report)
        // The SFT model's likelihood ranks the same test pairs as the reward model, side by side in the report.
        XCTAssertEqual(decoded.sftLikelihoodTest.count, decoded.reward.test.count)
        XCTAssertTrue(report.contains("| family | reward model | SFT likelihood |"), report)

        try assertError(["pipeline", "--quick", "--out", out], mentions: "not empty")
        try assertError(["pipeline", "--out", directory.file("sized"), "--base", out + "/base", "--layers", "4"], mentions: "keeps that model's size")
        try assertError(["pipeline", "--out", directory.file("sized"), "--width", "50", "--heads", "4"], mentions: "not divisible by heads")
        // --report-only re-renders the same report from report.json; one from another version is refused in one line.
        try FileManager.default.removeItem(atPath: out + "/report.md")
        try run(["pipeline", "--out", out, "--report-only"])
        XCTAssertEqual(try String(contentsOfFile: out + "/report.md", encoding: .utf8), report)
        let old = directory.file("old-run")
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
        try #"{"stages": []}"#.write(toFile: old + "/report.json", atomically: true, encoding: .utf8)
        try assertError(["pipeline", "--out", old, "--report-only"], mentions: "older version")

        // One stage API: `minigpt sft --preset quick` from the run's base and data is the pipeline's SFT, byte for byte.
        let handMade = directory.file("sft-by-hand")
        try run(["sft", "--preset", "quick", "--base", out + "/base", "--data", out + "/data", "--out", handMade, "--threads", "1"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: handMade + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: out + "/sft/model.safetensors")))
        try assertError(["sft", "--preset", "huge", "--base", out + "/base", "--data", out + "/data", "--out", directory.file("x")],
                        mentions: "--preset must be full or quick")
    }
}
