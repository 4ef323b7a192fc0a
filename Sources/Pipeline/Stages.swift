import Alignment
import Core
import Foundation
import Model
import Tasks
import Tokenizers

/// The stages of `minigpt pipeline`, each a value whose `run` reads a data directory and model directories and
/// writes one model directory with its metrics. The single-stage commands (`minigpt sft`, `reward train`, `ppo`)
/// build the same values from their flags, so a stage run by hand is the pipeline's stage.

/// An instruction data directory as a world wrote it (`InstructFiles`).
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public func read<T: Decodable>(_ type: T.Type, _ file: String) throws -> [T] {
        try JSONL.read(type, from: path + "/" + file)
    }

    /// The encoded pretraining text, or nothing when `rows` is 0 (the file is then not read).
    func pretrainingTokens(tokenizer: any Tokenizer, rows: Int) throws -> [Int32] {
        guard rows > 0 else { return [] }
        return try tokenizer.encode(TextFile.read(path + "/" + InstructFiles.pretrainText)).map(Int32.init)
    }
}

/// Writes `value` as pretty-printed JSON (atomically); non-finite numbers as strings.
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let json = JSONEncoder()
    json.outputFormatting = [.prettyPrinted, .sortedKeys]
    json.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    try AtomicFile.write(try json.encode(value), to: path)
}

/// Supervised fine-tuning of `base` on the demonstrations; with `judgeHeldOut`, the base and the tuned model
/// are also scored on the held-out prompts.
public struct SFTStage {
    public var base: String
    public var data: DataDirectory
    public var out: String
    public var config: SFTConfig
    public var world: any TaskWorld = ChatWorld()
    public var judgeHeldOut = false
    public var maxNewTokens = PipelineConfig().evaluationMaxNewTokens

    public init(base: String, data: DataDirectory, out: String, config: SFTConfig) {
        self.base = base
        self.data = data
        self.out = out
        self.config = config
    }

    public struct Output: Codable {
        public var config: SFTConfig
        public var result: SFTResult
        public var base: GoldReport?
        public var sft: GoldReport?
    }

    public func run(log: (String) -> Void) throws -> Output {
        let (model, tokenizer) = try StageDirectory.load(base)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let tuner = try SupervisedFineTuner(
            model: model, encoder: encoder, train: try data.read(Demonstration.self, InstructFiles.sftTrain),
            validation: try data.read(Demonstration.self, InstructFiles.sftValidation),
            pretrainingTokens: try data.pretrainingTokens(tokenizer: tokenizer, rows: config.pretrainingRowsPerBatch), config: config)
        let heldOut = judgeHeldOut ? try data.read(PromptRecord.self, InstructFiles.heldOutPrompts) : []
        let judge = { judgeHeldOut ? try GoldEvaluation.evaluate(model: model, encoder: encoder, prompts: heldOut, world: world, maxNewTokens: maxNewTokens) : nil }
        let before = try judge()
        let result = try tuner.run { point in
            log(String(format: "sft step %d | train %@ | val %.4f", point.step, point.trainLoss.map { String(format: "%.4f", $0) } ?? "-", point.validationLoss))
        }
        let output = Output(config: config, result: result, base: before, sft: try judge())
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: out, metadata: ["stage": "sft", "base": base, "best_step": "\(result.bestStep)"])
        try JSONL.write(result.curve, to: out + "/sft_metrics.jsonl")
        try writeJSON(output, to: out + "/sft_report.json")
        return output
    }
}

/// A reward model from `initial` (the SFT model) on the written pairs, plus the labeler's comparisons of
/// `policySamples` answers per prompt sampled from each of `samplers` (InstructGPT's iterated reward training).
public struct RewardStage {
    public var initial: String
    public var data: DataDirectory
    public var out: String
    public var config: RewardConfig
    public var world: any TaskWorld = ChatWorld()
    /// Answers sampled per SFT prompt and per PPO prompt from each sampler; 0 trains on the written pairs alone.
    public var policySamples = 0
    /// Model directories sampled after `initial` (earlier rounds' PPO policies).
    public var samplers: [String] = []
    /// Pairs already made from the first `reusedSamplers` samplers (`initial` first), kept instead of resampled.
    public var reusedPairs: [PreferencePair] = []
    public var reusedSamplers = 0
    public var maxNewTokens = PPOConfig().maxNewTokens

    public init(initial: String, data: DataDirectory, out: String, config: RewardConfig) {
        self.initial = initial
        self.data = data
        self.out = out
        self.config = config
    }

    public struct Output: Encodable {
        public var result: RewardResult
        public var config: RewardConfig
        public var writtenPairs: Int
        /// Every pair it trained on that came from sampled answers.
        public var policyPairs: [PreferencePair]
        /// The initial model's own likelihood as an untrained reward on the test pairs (a diagnostic).
        public var likelihood: PairwiseMetrics

        enum CodingKeys: String, CodingKey {
            case config, likelihood
            case writtenPairs = "written_pairs"
            case sampledPairs = "sampled_pairs"
        }

        /// reward_report.json: the training result's keys beside the settings and the pair counts.
        public func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(config, forKey: .config)
            try container.encode(writtenPairs, forKey: .writtenPairs)
            try container.encode(policyPairs.count, forKey: .sampledPairs)
            try container.encode(likelihood, forKey: .likelihood)
        }
    }

    public func run(log: (String) -> Void) throws -> Output {
        let (backbone, tokenizer) = try StageDirectory.load(initial)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let written = try data.read(PreferencePair.self, InstructFiles.pairsTrain)
        let test = try data.read(PreferencePair.self, InstructFiles.pairsTest)
        let policyPairs = try samplePairs(backbone: backbone, tokenizer: tokenizer, encoder: encoder)
        if policySamples > 0 { log("\(policyPairs.count) pairs from sampled answers added to \(written.count) written pairs") }
        let model = try RewardModel(backbone: backbone)
        let trainer = try RewardTrainer(model: model, encoder: encoder, written: written, sampled: policyPairs,
                                        validation: try data.read(PreferencePair.self, InstructFiles.pairsValidation), test: test, config: config)
        // Before training changes the backbone.
        let likelihood = try LikelihoodRanking.metrics(model: backbone, encoder: encoder, pairs: test)
        let result = try trainer.run {
            log(String(format: "rm step %d | val loss %.4f | val accuracy %.3f", $0.step, $0.validation.loss, $0.validation.accuracy))
        }
        log(String(format: "rm test pairs (step %d): accuracy %.3f", result.bestStep, result.test.accuracy))
        let output = Output(result: result, config: config, writtenPairs: written.count, policyPairs: policyPairs, likelihood: likelihood)
        try model.save(tokenizer: tokenizer, to: out, metadata: ["init": initial, "best_step": "\(result.bestStep)"])
        try JSONL.write(result.curve, to: out + "/reward_metrics.jsonl")
        if policySamples > 0 { try JSONL.write(policyPairs, to: out + "/" + PolicyPairs.fileName) }
        try writeJSON(output, to: out + "/reward_report.json")
        return output
    }

    /// The reused pairs, then each new sampler's labelled answers to the SFT prompts and to the PPO prompts
    /// (whose written answer is the world's).
    func samplePairs(backbone: GPT, tokenizer: any Tokenizer, encoder: ChatEncoder) throws -> [PreferencePair] {
        guard policySamples > 0 else { return [] }
        let demonstrations = try data.read(Demonstration.self, InstructFiles.sftTrain)
        let ppoPrompts = try data.read(PromptRecord.self, InstructFiles.ppoPrompts).compactMap { record in
            world.answer(to: record.chatPrompt).map { Demonstration(family: record.family, context: record.context, prompt: record.prompt, response: $0) }
        }
        // Every model is loaded and checked before the first (slow) sampling.
        let models = [backbone] + (try samplers.map { try StageDirectory.load($0, sameTokenizerAs: tokenizer, of: initial) })
        var pairs = reusedPairs
        for (index, model) in models.enumerated().dropFirst(reusedSamplers) {
            let seed = PolicyPairs.seed(config.seed, sampler: index)
            for (prompts, offset) in [(demonstrations, 0), (ppoPrompts, 1)] as [([Demonstration], UInt64)] {
                pairs += try PolicyPairs.make(model: model, encoder: encoder, labeler: world, demonstrations: prompts,
                                              samplesPerPrompt: policySamples, maxNewTokens: maxNewTokens, seed: seed &+ offset)
            }
        }
        return pairs
    }
}

/// PPO of `policy` (the SFT model, also the frozen reference unless `reference` names another) against the
/// reward model in `reward`, or, as a diagnostic, against the world's labeler x `labelerRewardScale`.
public struct PPOStage {
    public var policy: String
    public var reference: String?
    public var reward: String
    public var data: DataDirectory
    public var out: String
    public var config: PPOConfig
    public var world: any TaskWorld = ChatWorld()
    /// Rewards rollouts with the labeler's score x this scale instead of the reward model (which is then only checked).
    public var labelerRewardScale: Double?
    public var evaluationMaxNewTokens = PipelineConfig().evaluationMaxNewTokens
    public var klSamplesPerPrompt = PipelineConfig().klSamplesPerPrompt

    public init(policy: String, reward: String, data: DataDirectory, out: String, config: PPOConfig) {
        self.policy = policy
        self.reward = reward
        self.data = data
        self.out = out
        self.config = config
    }

    /// What scored the rollouts, as the log names it.
    public var rewardLabel: String { labelerRewardScale.map { String(format: "gold x%g", $0) } ?? "rm" }

    public struct Output: Codable {
        public var config: PPOConfig
        public var result: PPOResult
        /// On replies sampled at temperature 1 to the held-out prompts: mean KL to the reference per reply, and
        /// the labeler's mean score of the policy's and of the reference's replies.
        public var heldOutKL: Double
        public var heldOutSampledGold: Double
        public var referenceSampledGold: Double

        enum CodingKeys: String, CodingKey {
            case config, result
            case heldOutKL = "held_out_kl"
            case heldOutSampledGold = "held_out_sampled_gold"
            case referenceSampledGold = "reference_sampled_gold"
        }
    }

    public func run(log: (String) -> Void) throws -> Output {
        let (model, tokenizer) = try StageDirectory.load(policy)
        let referenceModel = try StageDirectory.load(reference ?? policy, sameTokenizerAs: tokenizer, of: policy)
        let (rewardModel, rewardTokenizer) = try RewardModel.load(reward)
        try StageDirectory.requireSameTokenizer(rewardTokenizer, tokenizer, "the reward model in \(reward) uses a different tokenizer than the policy in \(policy)")
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let heldOut = try data.read(PromptRecord.self, InstructFiles.heldOutPrompts)
        let rewardFunction: any RewardFunction = try labelerRewardScale.map { try LabelerReward(labeler: world, scale: $0) } ?? rewardModel
        let trainer = try PPOTrainer(policy: model, reference: referenceModel, reward: rewardFunction, encoder: encoder,
                                     prompts: try data.read(PromptRecord.self, InstructFiles.ppoPrompts), config: config)
        let result = try trainer.run(evaluate: { policy in
            try GoldEvaluation.evaluate(model: policy, encoder: encoder, prompts: heldOut, world: world, maxNewTokens: evaluationMaxNewTokens).meanScore
        }, report: { log(PPOLogFormat.line($0, rewardLabel: rewardLabel)) })
        let sampled = { (model: GPT) in
            try SampledScores.measure(model: model, reference: referenceModel, encoder: encoder, labeler: world, prompts: heldOut.map(\.chatPrompt),
                                      samplesPerPrompt: klSamplesPerPrompt, maxNewTokens: evaluationMaxNewTokens, seed: config.seed)
        }
        let (own, referenceGold) = (try sampled(model), try sampled(referenceModel).gold)
        let source = labelerRewardScale == nil ? reward : rewardLabel + " (diagnostic: this policy has seen the judge)"
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: out, metadata: ["stage": "ppo", "policy": policy, "reward": source])
        try JSONL.write(result.logs, to: out + "/ppo_metrics.jsonl")
        let output = Output(config: config, result: result, heldOutKL: own.klToReference, heldOutSampledGold: own.gold, referenceSampledGold: referenceGold)
        try writeJSON(output, to: out + "/ppo_report.json")
        return output
    }
}

/// DPO of `policy` (the SFT model, also its reference) on preference pairs: the written ones, plus `extraPairs`
/// (the final reward model's pairs of sampled answers, in the pipeline).
public struct DPOStage {
    public var policy: String
    public var data: DataDirectory
    public var out: String
    public var config: DPOConfig
    public var extraPairs: [PreferencePair] = []

    public init(policy: String, data: DataDirectory, out: String, config: DPOConfig) {
        self.policy = policy
        self.data = data
        self.out = out
        self.config = config
    }

    public func run(log: (String) -> Void) throws -> [DPOCurvePoint] {
        let (model, tokenizer) = try StageDirectory.load(policy)
        let reference = try StageDirectory.load(policy).model
        let trainer = try DPOTrainer(policy: model, reference: reference, encoder: try ChatEncoder(tokenizer: tokenizer),
                                     train: try data.read(PreferencePair.self, InstructFiles.pairsTrain) + extraPairs,
                                     validation: try data.read(PreferencePair.self, InstructFiles.pairsValidation), config: config)
        let curve = try trainer.run {
            log(String(format: "dpo step %d | val loss %.4f | val accuracy %.3f", $0.step, $0.validationLoss, $0.validationAccuracy))
        }
        try ModelDirectory.save(model: model, tokenizer: tokenizer, to: out, metadata: ["stage": "dpo", "policy": policy])
        try JSONL.write(curve, to: out + "/dpo_metrics.jsonl")
        return curve
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
