import Alignment
import ArgumentParser
import Core
import Foundation
import Model
import Tokenizers

/// PPO's knobs as command-line options (shared by `ppo` and `pipeline`).
struct PPOOptions: ParsableArguments {
    @Option(help: "PPO iterations (rollouts, then updates).") var iterations = PPOConfig().iterations
    @Option(help: "Prompts sampled per iteration (one response each, temperature 1).") var rollouts = PPOConfig().rollouts
    @Option(help: "Passes over each iteration's rollouts.") var epochs = PPOConfig().epochs
    @Option(help: "Rollouts per gradient step.") var minibatch = PPOConfig().minibatchSize
    @Option(name: .customLong("ppo-lr"), help: "Policy learning rate.") var learningRate = PPOConfig().learningRate
    @Option(help: "Value-head learning rate.") var valueLr = PPOConfig().valueHeadLearningRate
    @Option(help: "Policy ratio clip epsilon.") var clip = PPOConfig().clip
    @Option(help: "Value clip.") var valueClip = PPOConfig().valueClip
    @Option(help: "Weight of the value loss.") var valueCoef = PPOConfig().valueCoefficient
    @Option(help: "Discount gamma of GAE.") var gamma = PPOConfig().gamma
    @Option(help: "Lambda of GAE.") var lambda = PPOConfig().lambda
    @Option(help: "Initial KL coefficient beta.") var klCoef = PPOConfig().initialKLCoefficient
    @Option(help: "Target of the mean KL to the reference per response (nats).") var klTarget = PPOConfig().klTarget
    @Option(help: "Horizon of the adaptive KL controller, in rollouts.") var klHorizon = PPOConfig().klHorizon
    @Option(help: "Longest sampled response, in tokens.") var maxNewTokens = PPOConfig().maxNewTokens
    @Option(help: "Score the held-out prompts with the gold judge every N iterations.") var goldEvery = PPOConfig().goldEvery
    @Option(name: .customLong("ppo-seed"), help: "Seed for prompt order and sampling.") var seed = PPOConfig().seed

    var config: PPOConfig {
        var config = PPOConfig()
        config.iterations = iterations
        config.rollouts = rollouts
        config.epochs = epochs
        config.minibatchSize = minibatch
        config.learningRate = learningRate
        config.valueHeadLearningRate = valueLr
        config.clip = clip
        config.valueClip = valueClip
        config.valueCoefficient = valueCoef
        config.gamma = gamma
        config.lambda = lambda
        config.initialKLCoefficient = klCoef
        config.klTarget = klTarget
        config.klHorizon = klHorizon
        config.maxNewTokens = maxNewTokens
        config.goldEvery = goldEvery
        config.seed = seed
        return config
    }

    func validate() throws { try config.validate() }
}

struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "Optimise a policy against a reward model with PPO and a KL penalty to the SFT reference.",
        discussion: """
        The policy starts from --policy (the SFT model), which is also the frozen reference unless --reference \
        names another; the reward model from --reward is frozen. Reads ppo_prompts.jsonl (rollouts) and \
        heldout_prompts.jsonl (gold score for the log only) from --data. Writes the tuned policy, \
        ppo_metrics.jsonl (one line per iteration: rm_score, kl, kl_coef, entropy, approx_kl, clip_fraction, \
        policy_loss, value_loss, response_length, gold) and ppo_report.json to --out.
        """
    )

    @Option(help: "Starting policy (the SFT model directory).") var policy: String
    @Option(help: "Reward model directory (made by `minigpt reward train`).") var reward: String
    @Option(help: "Instruction data directory.") var data: String
    @Option(help: "Output model directory (must not hold a model yet).") var out: String
    @Option(help: "Frozen reference for the KL penalty (default: --policy).") var reference: String?
    @Option(help: ArgumentHelp("DIAGNOSTIC ONLY: reward rollouts with the gold judge's score x SCALE instead of --reward (then only checked), "
                               + "to see how far PPO gets with a perfect reward model. The result has seen the judge: not a comparable PPO model.",
                               valueName: "scale")) var goldRewardDiagnostic: Double?
    @OptionGroup var ppo: PPOOptions
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        try threadOptions.apply()
        try refuseToOverwriteModel(out)
        let stages = try PPOStages(policy: policy, reference: reference ?? policy, reward: reward, data: data)
        let started = Date()
        let trainer = try stages.trainer(config: ppo.config, goldRewardScale: goldRewardDiagnostic)
        let rewardLabel = goldRewardDiagnostic.map { String(format: "gold x%g", $0) } ?? "rm"
        let result = try trainer.run { Console.status(PPOLogFormat.line($0, rewardLabel: rewardLabel)) }
        let rewardSource = goldRewardDiagnostic == nil ? reward : rewardLabel + " (diagnostic: this policy has seen the judge)"
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); measuring the held-out KL")
        let heldOut = try stages.heldOutSampled(seed: ppo.config.seed)
        try stages.save(trainer: trainer, result: result, heldOut: heldOut, to: out, metadata: ["policy": policy, "reward": rewardSource])
        let last = result.logs.last!
        Console.out(String(format: "held-out gold score: sft %.3f -> ppo %.3f (sampled %.3f -> %.3f) | held-out kl %.3f (target %.2f) | "
                           + "last rollouts: \(rewardLabel) score %.3f, kl %.3f\n",
                           result.initialGold, last.gold ?? .nan, heldOut.referenceGold, heldOut.policy.gold, heldOut.policy.klToReference,
                           ppo.config.klTarget, last.rewardScore, last.kl))
        Console.status("policy in \(out)")
    }
}

/// The three models and the data PPO reads, loaded with one-line errors.
struct PPOStages {
    let policy: GPT
    let reference: GPT
    let reward: RewardModel
    let encoder: ChatEncoder
    let tokenizer: any Tokenizer
    let prompts: [PromptRecord]
    let heldOut: [PromptRecord]

    init(policy policyDirectory: String, reference referenceDirectory: String, reward rewardDirectory: String, data: String) throws {
        (policy, tokenizer) = try StageDirectory.load(policyDirectory)
        (reference, _) = try StageDirectory.load(referenceDirectory)
        guard FileManager.default.fileExists(atPath: rewardDirectory) else { throw AlignmentError.missingDirectory(rewardDirectory) }
        let (reward, rewardTokenizer) = try RewardModel.load(rewardDirectory)
        self.reward = reward
        try Self.requireSameTokenizer(rewardTokenizer, tokenizer,
                                      "the reward model in \(rewardDirectory) uses a different tokenizer than the policy in \(policyDirectory)")
        encoder = try ChatEncoder(tokenizer: tokenizer)
        prompts = try JSONL.read(PromptRecord.self, from: data + "/" + InstructFiles.ppoPrompts)
        heldOut = try JSONL.read(PromptRecord.self, from: data + "/" + InstructFiles.heldOutPrompts)
    }

    /// Throws `message` unless the two tokenizers have the same vocabulary size and split `probe` alike.
    static func requireSameTokenizer(_ a: any Tokenizer, _ b: any Tokenizer, _ message: String) throws {
        guard try a.encode(probe) == b.encode(probe), a.vocabularySize == b.vocabularySize else { throw AlignmentError.mismatch(message) }
    }

    /// Text that exercises the special tokens and ordinary words, to compare two tokenizers.
    static let probe = "<|user|>What is 23 + 45? Reverse the letters: s t o n e<|end|><|assistant|>[stone]<|end|>"

    /// A trainer on the reward model, or on the gold judge x `goldRewardScale` (the diagnostic) when that is set.
    func trainer(config: PPOConfig, goldRewardScale: Double?) throws -> PPOTrainer {
        let source = goldRewardScale.map { PPORewardSource.goldJudge(scale: $0) } ?? .model(reward)
        return try PPOTrainer(policy: policy, reference: reference, reward: source, encoder: encoder, prompts: prompts, heldOut: heldOut, config: config)
    }

    /// Replies sampled at temperature 1 on the held-out prompts, as the pipeline's report measures them
    /// (`PipelineConfig.klSamplesPerPrompt` per prompt, the PPO seed): the policy's KL to the reference and
    /// sampled gold, next to the reference's own sampled gold.
    func heldOutSampled(seed: UInt64) throws -> HeldOutSampled {
        let prompts = heldOut.map(\.prompt)
        let settings = PipelineConfig()
        func scores(_ model: GPT) throws -> StageEvaluation.SampledScores {
            try StageEvaluation.sampledScores(model: model, reference: reference, encoder: encoder, prompts: prompts,
                                              samplesPerPrompt: settings.klSamplesPerPrompt,
                                              maxNewTokens: settings.evaluationMaxNewTokens, seed: seed)
        }
        return HeldOutSampled(policy: try scores(policy), referenceGold: try scores(reference).gold)
    }

    func save(trainer: PPOTrainer, result: PPOResult, heldOut: HeldOutSampled, to directory: String, metadata: [String: String]) throws {
        try ModelDirectory.save(model: policy, tokenizer: tokenizer, to: directory, metadata: metadata.merging(["stage": "ppo"]) { a, _ in a })
        try JSONL.write(result.logs, to: directory + "/ppo_metrics.jsonl")
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        let report = PPOReport(config: trainer.config, result: result, heldOutKL: heldOut.policy.klToReference,
                               heldOutSampledGold: heldOut.policy.gold, referenceSampledGold: heldOut.referenceGold)
        try AtomicFile.write(try json.encode(report), to: directory + "/ppo_report.json")
    }
}

struct HeldOutSampled {
    var policy: StageEvaluation.SampledScores
    var referenceGold: Double
}

struct PPOReport: Codable {
    var config: PPOConfig
    var result: PPOResult
    /// On replies sampled at temperature 1 to the held-out prompts: mean KL to the reference per reply, and
    /// the gold judge's mean score of the policy's and of the reference's replies.
    var heldOutKL: Double
    var heldOutSampledGold: Double
    var referenceSampledGold: Double

    enum CodingKeys: String, CodingKey {
        case config, result
        case heldOutKL = "held_out_kl"
        case heldOutSampledGold = "held_out_sampled_gold"
        case referenceSampledGold = "reference_sampled_gold"
    }
}
