import Core
import Foundation
import Generation
import Model
import Tokenizers
import Training

/// What one pipeline run produced: the comparison of its stages and every curve the report plots.
public struct PipelineResult: Codable, Sendable {
    public struct PretrainingPoint: Codable, Sendable {
        public var step: Int
        public var trainLoss: Float
        public var validationLoss: Float?
    }

    public var config: PipelineConfig
    /// base, SFT, each earlier round's PPO, PPO, DPO and the gold-reward diagnostic on the held-out prompts.
    public var stages: [StageSummary]
    /// Wall-clock seconds per stage, in order.
    public var timings: [StageTiming]
    /// Empty when the run started from an existing base model.
    public var pretraining: [PretrainingPoint]
    public var sft: SFTResult
    public var reward: RewardResult
    /// The final reward model's training pairs: written pairs plus the judge's comparisons of answers of the SFT
    /// model and of every earlier round's PPO policy.
    public var rewardTrainingPairs: Int
    public var ppo: PPOResult
    /// The reward model and PPO of every round before the last (`PipelineConfig.rewardRounds`).
    public var earlierRounds: [RewardRound]
    /// The diagnostic PPO run rewarded by the gold judge (`PipelineConfig.goldRewardDiagnosticScale`); nil when skipped.
    public var ppoGoldReward: PPOResult?
    /// DPO's held-out curve (loss and implied-reward accuracy on the written held-out pairs).
    public var dpo: [DPOCurvePoint]
    /// The reward model choosing among the SFT model's samples on the held-out prompts.
    public var bestOfN: BestOfN.Result
    /// The test pairs ranked by the SFT model's own likelihood (`LikelihoodRanking`); nil in reports written before it.
    public var sftLikelihoodTest: PairwiseMetrics?
}

extension PipelineResult {
    /// One round before the last: its reward model's test accuracy and training-pair count, and its PPO run.
    public struct RewardRound: Codable, Sendable {
        public var round: Int
        public var rewardTrainingPairs: Int
        public var rewardTest: PairwiseMetrics
        public var ppo: PPOResult
    }
}

public struct StageTiming: Codable, Sendable {
    public var stage: String
    public var seconds: Double
}

/// `minigpt pipeline`: instruction data -> tokenizer and pretrained base (or an existing base) -> SFT ->
/// rounds of reward model -> PPO -> DPO and the gold-reward diagnostic -> evaluation of every model on the
/// held-out prompts. Every stage writes an ordinary model directory under `directory` (data, base, sft,
/// rm_roundN, ppo_roundN, rm, ppo, dpo, ppo_gold_reward), so each can be inspected, chatted with or rerun
/// with the single-stage commands.
public final class AlignmentPipeline {
    public let config: PipelineConfig
    public let directory: String
    /// An existing base model (its tokenizer must hold the chat markers); nil pretrains one.
    public let baseDirectory: String?
    /// An existing instruction data directory; nil generates one from `config.data`.
    public let dataDirectory: String?

    public init(config: PipelineConfig, directory: String, baseDirectory: String? = nil, dataDirectory: String? = nil) throws {
        try config.validate()
        self.config = config
        self.directory = directory
        self.baseDirectory = baseDirectory
        self.dataDirectory = dataDirectory
    }

    /// The diagnostic PPO run's stage, timing and report row: PPO from the SFT model rewarded by the gold judge.
    public static let goldRewardStage = "PPO, gold judge as reward (diagnostic)"

    /// The report row of an earlier round's PPO policy.
    public static func ppoStage(round: Int) -> String { "PPO, round \(round)" }

    func path(_ name: String) -> String { directory + "/" + name }

    public func run(log: (String) -> Void) throws -> PipelineResult {
        var timings: [StageTiming] = []
        func timed<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
            log("== \(stage)")
            let started = Date()
            let value = try body()
            timings.append(StageTiming(stage: stage, seconds: Date().timeIntervalSince(started)))
            return value
        }
        try ModelDirectory.createDirectory(directory)
        let data = try dataDirectory ?? timed("data") {
            var generator = InstructDataGenerator(config: config.data)
            try generator.write(to: path("data"))
            return path("data")
        }
        let sftTrain = try JSONL.read(Demonstration.self, from: data + "/" + InstructFiles.sftTrain)
        let sftValidation = try JSONL.read(Demonstration.self, from: data + "/" + InstructFiles.sftValidation)
        let pairsTrain = try JSONL.read(PreferencePair.self, from: data + "/" + InstructFiles.pairsTrain)
        let pairsValidation = try JSONL.read(PreferencePair.self, from: data + "/" + InstructFiles.pairsValidation)
        let pairsTest = try JSONL.read(PreferencePair.self, from: data + "/" + InstructFiles.pairsTest)
        let ppoPrompts = try JSONL.read(PromptRecord.self, from: data + "/" + InstructFiles.ppoPrompts)
        let heldOut = try JSONL.read(PromptRecord.self, from: data + "/" + InstructFiles.heldOutPrompts)

        var pretrainingCurve: [PipelineResult.PretrainingPoint] = []
        let base = try baseDirectory ?? timed("pretraining") {
            try pretrain(data: data, sftTrain: sftTrain, pairsTrain: pairsTrain, log: log) { pretrainingCurve.append($0) }
        }

        let (sftModel, tokenizer) = try StageDirectory.load(base)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let sft = try timed("SFT") { () throws -> SFTResult in
            let pretrainingTokens = try SupervisedFineTuner.pretrainingTokens(data: data, tokenizer: tokenizer, config: config.sft)
            let tuner = try SupervisedFineTuner(model: sftModel, encoder: encoder, train: sftTrain, validation: sftValidation,
                                                pretrainingTokens: pretrainingTokens, config: config.sft)
            let result = try tuner.run { log(String(format: "sft step %d | val %.4f", $0.step, $0.validationLoss)) }
            try ModelDirectory.save(model: sftModel, tokenizer: tokenizer, to: path("sft"), metadata: ["stage": "sft", "best_step": "\(result.bestStep)"])
            try JSONL.write(result.curve, to: path("sft") + "/sft_metrics.jsonl")
            return result
        }

        let reference = try StageDirectory.load(path("sft")).model
        func runPPO(_ policy: GPT, reward: PPORewardSource, rewardLabel: String, directory: String, metadata: [String: String]) throws -> PPOResult {
            let trainer = try PPOTrainer(policy: policy, reference: reference, reward: reward, encoder: encoder,
                                         prompts: ppoPrompts, heldOut: heldOut, config: config.ppo)
            let result = try trainer.run(goldMaxNewTokens: config.evaluationMaxNewTokens) { log(PPOLogFormat.line($0, rewardLabel: rewardLabel)) }
            try ModelDirectory.save(model: policy, tokenizer: tokenizer, to: path(directory), metadata: metadata)
            try JSONL.write(result.logs, to: path(directory) + "/ppo_metrics.jsonl")
            return result
        }

        // InstructGPT's loop: each round trains a reward model from the SFT model on the written pairs plus the judge's
        // comparisons of answers sampled from the SFT model and from every earlier round's PPO policy, then runs PPO
        // from the SFT model against it. Earlier rounds write rm_roundN/ and ppo_roundN/; the last writes rm/ and ppo/.
        var policyPairs: [PreferencePair] = []
        var earlierRounds: [PipelineResult.RewardRound] = [], earlierPolicies: [(String, GPT)] = []
        func runRound(_ round: Int) throws -> (rewardModel: RewardModel, reward: RewardResult, pairs: [PreferencePair], policy: GPT, ppo: PPOResult) {
            let last = round == config.rewardRounds
            let stageSuffix = config.rewardRounds == 1 ? "" : last ? ", round \(round) (final)" : ", round \(round)"
            let directorySuffix = last ? "" : "_round\(round)"
            let rewardModel = try RewardModel(backbone: try StageDirectory.load(path("sft")).model)
            let (reward, pairs) = try timed("reward model" + stageSuffix) { () throws -> (RewardResult, [PreferencePair]) in
                if config.rewardPolicySamples > 0 {
                    // Only the newest policy is sampled (earlier ones keep their pairs): the SFT model in round 1, then
                    // the previous round's PPO policy.
                    let sampler = earlierPolicies.last?.1 ?? reference
                    policyPairs += try PolicyPairs.make(model: sampler, encoder: encoder, demonstrations: sftTrain, ppoPrompts: ppoPrompts,
                                                        samplesPerPrompt: config.rewardPolicySamples, maxNewTokens: config.ppo.maxNewTokens,
                                                        seed: PolicyPairs.seed(config.reward.seed, sampler: round - 1))
                    let sources = round == 1 ? "the SFT model" : "the SFT model and \(round - 1) PPO policies"
                    log("\(policyPairs.count) pairs from the answers of \(sources) added to \(pairsTrain.count) written pairs")
                }
                let pairs = pairsTrain + policyPairs
                let trainer = try RewardTrainer(model: rewardModel, encoder: encoder, written: pairsTrain, sampled: policyPairs,
                                                validation: pairsValidation, test: pairsTest, config: config.reward)
                let result = try trainer.run {
                    log(String(format: "rm step %d | val loss %.4f | val accuracy %.3f", $0.step, $0.validation.loss, $0.validation.accuracy))
                }
                log(String(format: "rm test pairs (step %d): accuracy %.3f", result.bestStep, result.test.accuracy))
                try rewardModel.save(tokenizer: tokenizer, to: path("rm" + directorySuffix), metadata: ["best_step": "\(result.bestStep)", "round": "\(round)"])
                try JSONL.write(result.curve, to: path("rm" + directorySuffix) + "/reward_metrics.jsonl")
                if config.rewardPolicySamples > 0 { try JSONL.write(policyPairs, to: path("rm" + directorySuffix) + "/" + PolicyPairs.fileName) }
                return (result, pairs)
            }
            let policy = try StageDirectory.load(path("sft")).model
            let ppo = try timed("PPO" + stageSuffix) {
                try runPPO(policy, reward: .model(rewardModel), rewardLabel: "rm", directory: "ppo" + directorySuffix,
                           metadata: ["stage": "ppo", "round": "\(round)"])
            }
            return (rewardModel, reward, pairs, policy, ppo)
        }
        var finalRound = try runRound(1)
        for round in stride(from: 2, through: config.rewardRounds, by: 1) {
            earlierRounds.append(PipelineResult.RewardRound(round: round - 1, rewardTrainingPairs: finalRound.pairs.count,
                                                            rewardTest: finalRound.reward.test, ppo: finalRound.ppo))
            earlierPolicies.append((Self.ppoStage(round: round - 1), finalRound.policy))
            finalRound = try runRound(round)
        }
        let (rewardModel, reward, preferencePairs, policy, ppo) = finalRound
        // Same PPOConfig and SFT start as the real PPO; only the reward differs.
        var goldRewardPolicy: GPT?, ppoGoldReward: PPOResult?
        if let scale = config.goldRewardDiagnosticScale {
            let diagnosticPolicy = try StageDirectory.load(path("sft")).model
            let label = String(format: "gold x%g", scale)
            ppoGoldReward = try timed(Self.goldRewardStage) {
                try runPPO(diagnosticPolicy, reward: .goldJudge(scale: scale), rewardLabel: label, directory: "ppo_gold_reward",
                           metadata: ["stage": "ppo_gold_reward", "reward": label + " (diagnostic: this policy has seen the judge)"])
            }
            goldRewardPolicy = diagnosticPolicy
        }

        let dpoPolicy = try StageDirectory.load(path("sft")).model
        let dpo = try timed("DPO") { () throws -> [DPOCurvePoint] in
            let trainer = try DPOTrainer(policy: dpoPolicy, reference: reference, encoder: encoder, train: preferencePairs,
                                         validation: pairsValidation, config: config.dpo)
            let curve = try trainer.run {
                log(String(format: "dpo step %d | val loss %.4f | val accuracy %.3f", $0.step, $0.validationLoss, $0.validationAccuracy))
            }
            try ModelDirectory.save(model: dpoPolicy, tokenizer: tokenizer, to: path("dpo"), metadata: ["stage": "dpo"])
            try JSONL.write(curve, to: path("dpo") + "/dpo_metrics.jsonl")
            return curve
        }

        let (stages, bestOfN, sftLikelihoodTest) = try timed("evaluation") { () throws -> ([StageSummary], BestOfN.Result, PairwiseMetrics) in
            let baseModel = try StageDirectory.load(base).model
            let diagnostic = goldRewardPolicy.map { [(Self.goldRewardStage, $0)] } ?? []
            let stages = try ([("base", baseModel), ("SFT", reference)] + earlierPolicies + [("PPO", policy), ("DPO", dpoPolicy)] + diagnostic)
                .map { name, model in
                try StageEvaluation.summarize(name: name, model: model, sft: reference, reward: rewardModel, encoder: encoder,
                                              heldOut: heldOut, maxNewTokens: config.evaluationMaxNewTokens,
                                              klSamplesPerPrompt: config.klSamplesPerPrompt, seed: config.ppo.seed)
            }
            let bestOfN = try BestOfN.evaluate(model: reference, reward: rewardModel, encoder: encoder, prompts: heldOut, n: config.bestOfN,
                                               maxNewTokens: config.evaluationMaxNewTokens, seed: config.ppo.seed)
            return (stages, bestOfN, try LikelihoodRanking.metrics(model: reference, encoder: encoder, pairs: pairsTest))
        }
        return PipelineResult(config: config, stages: stages, timings: timings, pretraining: pretrainingCurve,
                              sft: sft, reward: reward, rewardTrainingPairs: preferencePairs.count, ppo: ppo, earlierRounds: earlierRounds,
                              ppoGoldReward: ppoGoldReward,
                              dpo: dpo, bestOfN: bestOfN, sftLikelihoodTest: sftLikelihoodTest)
    }

    /// Trains the BPE tokenizer (with the chat markers) and pretrains the base model on `pretrain.txt`;
    /// returns the base's run directory.
    func pretrain(data: String, sftTrain: [Demonstration], pairsTrain: [PreferencePair], log: (String) -> Void,
                  curve: (PipelineResult.PretrainingPoint) -> Void) throws -> String {
        let pretrainText = try TextFile.read(data + "/" + InstructFiles.pretrainText)
        let tokenizer = try Self.trainTokenizer(pretrainText: pretrainText, sftTrain: sftTrain, pairsTrain: pairsTrain, config: config)
        try TokenizerFile.save(tokenizer, to: path("tokenizer.json"))
        let tokens = tokenizer.encode(pretrainText).map(Int32.init)
        let modelConfig = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: config.contextLength, layers: config.layers,
                                      heads: config.heads, width: config.width)
        let trainingData = try TrainingData(tokens: tokens, validationFraction: config.pretraining.validationFraction, contextLength: config.contextLength)
        let trainer = try Trainer(modelConfig: modelConfig, tokenizer: tokenizer, data: trainingData, config: config.pretraining, runDirectory: path("base"))
        log("base: \(trainer.model.parameterCount) parameters, \(tokens.count) pretraining tokens")
        try trainer.run { report in
            guard let validation = report.validationLoss else { return }
            log(String(format: "pretrain step %d | loss %.4f | val %.4f", report.step, report.trainLoss, validation))
            curve(PipelineResult.PretrainingPoint(step: report.step, trainLoss: report.trainLoss, validationLoss: validation))
        }
        return path("base")
    }

    /// A byte-level BPE over the pretraining text plus the text (not the markers) of the training prompts
    /// and responses, so instruction words are whole tokens; the chat template's markers are special tokens.
    /// Held-out files are never read.
    static func trainTokenizer(pretrainText: String, sftTrain: [Demonstration], pairsTrain: [PreferencePair],
                               config: PipelineConfig) throws -> BPETokenizer {
        var corpus = [Array(pretrainText.utf8)]
        for demo in sftTrain { corpus += [Array(demo.prompt.utf8), Array(demo.response.utf8)] }
        for pair in pairsTrain { corpus += [Array(pair.prompt.utf8), Array(pair.chosen.utf8), Array(pair.rejected.utf8)] }
        let specials = ChatTemplate.specialTokens.filter { $0 != BPETokenizer.endOfText }
        return try BPETrainer.train(corpus: corpus, vocabularySize: config.tokenizerVocabulary, pattern: config.tokenizerPattern,
                                    specialTokens: specials).tokenizer
    }
}

/// The one-line form of a PPO log line, shared by `minigpt ppo` and the pipeline.
public enum PPOLogFormat {
    /// `rewardLabel` names what scored the rollouts ("rm" for the reward model).
    public static func line(_ log: PPOIterationLog, rewardLabel: String = "rm") -> String {
        var line = String(format: "ppo iter %d | \(rewardLabel) %.3f | kl %.3f (beta %.3f) | entropy %.3f | approx-kl %.4f | clip %.3f | pg %.4f | vf %.4f | len %.1f | %.1fs",
                          log.iteration, log.rewardScore, log.kl, log.klCoefficient, log.entropy, log.approxKL, log.clipFraction,
                          log.policyLoss, log.valueLoss, log.responseLength, log.seconds)
        if let gold = log.gold { line += String(format: " | gold %.3f", gold) }
        return line
    }
}
