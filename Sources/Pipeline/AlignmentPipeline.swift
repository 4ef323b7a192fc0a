import Alignment
import Core
import Foundation
import Generation
import Model
import Tasks
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
    /// Every stage on a fresh evaluation set (`ChatDataConfig.freshEvaluationSeed`), in stage order; nil in
    /// reports written before it.
    public var fresh: [FreshEvaluation]?
}

/// One stage's `ChatEvaluationReport` on the fresh prompts (its samples left out: the held-out table keeps those).
public struct FreshEvaluation: Codable, Sendable {
    public var stage: String
    public var report: ChatEvaluationReport
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
/// rounds of reward model -> PPO -> the gold-reward diagnostic and DPO -> evaluation of every model on the
/// held-out prompts. Every stage writes an ordinary model directory under `directory` (data, base, sft,
/// rm_roundN, ppo_roundN, rm, ppo, ppo_gold_reward, dpo), so each can be inspected, chatted with or rerun
/// with the single-stage commands.
public final class AlignmentPipeline {
    public let config: PipelineConfig
    public let directory: String
    /// An existing base model (its tokenizer must hold the chat markers); nil pretrains one.
    public let baseDirectory: String?
    /// An existing instruction data directory; nil generates one from `config.data`.
    public let dataDirectory: String?
    public let world: ChatWorld
    private var timings: [StageTiming] = []
    private var log: (String) -> Void = { _ in }

    public init(config: PipelineConfig, directory: String, baseDirectory: String? = nil, dataDirectory: String? = nil) throws {
        try config.validate()
        self.config = config
        self.directory = directory
        self.baseDirectory = baseDirectory
        self.dataDirectory = dataDirectory
        world = ChatWorld(data: config.data)
    }

    /// The diagnostic PPO run's stage, timing and report row: PPO from the SFT model rewarded by the gold judge.
    public static let goldRewardStage = "PPO, gold judge as reward (diagnostic)"

    /// The report row of an earlier round's PPO policy.
    public static func ppoStage(round: Int) -> String { "PPO, round \(round)" }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Runs `body` as the stage `name`, logging its start and recording its time.
    func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        log("== \(name)")
        let started = Date()
        let value = try body()
        timings.append(StageTiming(stage: name, seconds: Date().timeIntervalSince(started)))
        return value
    }

    /// One round's reward model and the PPO run against it.
    struct Round {
        var reward: RewardStage.Output
        var ppo: PPOStage.Output
    }

    public func run(log: @escaping (String) -> Void) throws -> PipelineResult {
        (self.log, timings) = (log, [])
        try ModelDirectory.createDirectory(directory)
        let data = DataDirectory(try dataDirectory ?? timed("data") { try world.writeData(to: path("data")); return path("data") })
        var pretrainingCurve: [PipelineResult.PretrainingPoint] = []
        let base = try baseDirectory ?? timed("pretraining") { try pretrain(data: data, log: log) { pretrainingCurve.append($0) } }
        let sft = try timed("SFT") { try SFTStage(base: base, data: data, out: path("sft"), config: config.sft).run(log: log) }
        var rounds: [Round] = []
        for round in 1...config.rewardRounds { rounds.append(try runRound(round, data: data, earlier: rounds)) }
        let final = rounds[rounds.count - 1]
        let goldReward = try config.goldRewardDiagnosticScale.map { scale in
            try timed(Self.goldRewardStage) { try ppoStage(data: data, reward: "rm", out: "ppo_gold_reward", labelerRewardScale: scale).run(log: log) }
        }
        let dpo = try timed("DPO") { () throws -> [DPOCurvePoint] in
            var stage = DPOStage(policy: path("sft"), data: data, out: path("dpo"), config: config.dpo)
            stage.extraPairs = final.reward.policyPairs
            return try stage.run(log: log)
        }
        let (stages, bestOfN, fresh) = try timed("evaluation") { try evaluate(data: data, base: base, withDiagnostic: goldReward != nil) }
        let earlier = rounds.dropLast().enumerated().map { index, round in
            PipelineResult.RewardRound(round: index + 1, rewardTrainingPairs: round.reward.writtenPairs + round.reward.policyPairs.count,
                                       rewardTest: round.reward.result.test, ppo: round.ppo.result)
        }
        return PipelineResult(config: config, stages: stages, timings: timings, pretraining: pretrainingCurve, sft: sft.result,
                              reward: final.reward.result, rewardTrainingPairs: final.reward.writtenPairs + final.reward.policyPairs.count,
                              ppo: final.ppo.result, earlierRounds: Array(earlier), ppoGoldReward: goldReward?.result, dpo: dpo,
                              bestOfN: bestOfN, sftLikelihoodTest: final.reward.likelihood, fresh: fresh)
    }

    /// InstructGPT's loop: round r trains a reward model from SFT on the written pairs plus the judge's comparisons
    /// of answers sampled from SFT and every earlier round's PPO policy, then runs PPO from SFT against it. Earlier
    /// rounds write rm_roundN/ and ppo_roundN/; the last writes rm/ and ppo/.
    func runRound(_ round: Int, data: DataDirectory, earlier: [Round]) throws -> Round {
        let last = round == config.rewardRounds
        let stageSuffix = config.rewardRounds == 1 ? "" : last ? ", round \(round) (final)" : ", round \(round)"
        let directorySuffix = last ? "" : "_round\(round)"
        let reward = try timed("reward model" + stageSuffix) { () throws -> RewardStage.Output in
            var stage = RewardStage(initial: path("sft"), data: data, out: path("rm" + directorySuffix), config: config.reward)
            stage.world = world
            stage.policySamples = config.rewardPolicySamples
            stage.maxNewTokens = config.ppo.maxNewTokens
            stage.samplers = (1..<round).map { path("ppo_round\($0)") }
            stage.reusedPairs = earlier.last?.reward.policyPairs ?? []
            stage.reusedSamplers = round - 1
            return try stage.run(log: log)
        }
        let ppo = try timed("PPO" + stageSuffix) { try ppoStage(data: data, reward: "rm" + directorySuffix, out: "ppo" + directorySuffix).run(log: log) }
        return Round(reward: reward, ppo: ppo)
    }

    /// PPO from the SFT model with this pipeline's settings.
    func ppoStage(data: DataDirectory, reward: String, out: String, labelerRewardScale: Double? = nil) -> PPOStage {
        var stage = PPOStage(policy: path("sft"), reward: path(reward), data: data, out: path(out), config: config.ppo)
        stage.world = world
        stage.labelerRewardScale = labelerRewardScale
        stage.evaluationMaxNewTokens = config.evaluationMaxNewTokens
        stage.klSamplesPerPrompt = config.klSamplesPerPrompt
        return stage
    }

    /// Every model on the held-out prompts (base, SFT, each round's PPO, DPO, the diagnostic), scored with the
    /// final reward model, and the reward model's best-of-N pick among the SFT model's samples.
    func evaluate(data: DataDirectory, base: String, withDiagnostic: Bool) throws -> ([StageSummary], BestOfN.Result, [FreshEvaluation]) {
        let heldOut = try data.read(PromptRecord.self, InstructFiles.heldOutPrompts)
        let (sft, tokenizer) = try StageDirectory.load(path("sft"))
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let reward = try RewardModel.load(path("rm")).model
        let earlier = (1..<config.rewardRounds).map { (Self.ppoStage(round: $0), "ppo_round\($0)") }
        let named = [("base", base), ("SFT", path("sft"))] + (earlier + [("PPO", "ppo"), ("DPO", "dpo")]).map { ($0, path($1)) }
            + (withDiagnostic ? [(Self.goldRewardStage, path("ppo_gold_reward"))] : [])
        let stages = try named.map { name, directory in
            try StageEvaluation.summarize(name: name, model: try StageDirectory.load(directory).model, sft: sft, reward: reward, encoder: encoder,
                                          world: world, heldOut: heldOut, maxNewTokens: config.evaluationMaxNewTokens,
                                          klSamplesPerPrompt: config.klSamplesPerPrompt, seed: config.ppo.seed)
        }
        let bestOfN = try BestOfN.evaluate(model: sft, reward: reward, labeler: world, encoder: encoder, prompts: heldOut, n: config.bestOfN,
                                           maxNewTokens: config.evaluationMaxNewTokens, seed: config.ppo.seed)
        var freshData = config.data
        freshData.seed = config.data.freshEvaluationSeed
        var generator = ChatWorldData(config: freshData)
        let freshPrompts = generator.heldOutPrompts(perFamily: config.data.heldOutPerFamily)
        let fresh = try named.map { name, directory in
            var report = try ChatEvaluation.evaluate(model: try StageDirectory.load(directory).model, encoder: encoder, prompts: freshPrompts,
                                                     maxNewTokens: config.evaluationMaxNewTokens)
            report.samples = []
            return FreshEvaluation(stage: name, report: report)
        }
        return (stages, bestOfN, fresh)
    }

    /// Trains the BPE tokenizer (with the chat markers) and pretrains the base model on `pretrain.txt`;
    /// returns the base's run directory.
    func pretrain(data: DataDirectory, log: (String) -> Void, curve: (PipelineResult.PretrainingPoint) -> Void) throws -> String {
        let pretrainText = try TextFile.read(data.path + "/" + InstructFiles.pretrainText)
        let tokenizer = try Self.trainTokenizer(pretrainText: pretrainText, sftTrain: try data.read(Demonstration.self, InstructFiles.sftTrain),
                                                pairsTrain: try data.read(PreferencePair.self, InstructFiles.pairsTrain), config: config)
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

