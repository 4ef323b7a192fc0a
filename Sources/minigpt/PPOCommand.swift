import Alignment
import ArgumentParser
import Foundation
import Pipeline

/// PPO's knobs as command-line options; unset ones take the --preset's values.
struct PPOOptions: ParsableArguments {
    @Option(help: "PPO iterations (rollouts, then updates).") var iterations: Int?
    @Option(help: "Prompts sampled per iteration (one response each, temperature 1).") var rollouts: Int?
    @Option(help: "Passes over each iteration's rollouts.") var epochs: Int?
    @Option(help: "Rollouts per gradient step.") var minibatch: Int?
    @Option(name: .customLong("ppo-lr"), help: "Policy learning rate.") var learningRate: Float?
    @Option(help: "Value-head learning rate.") var valueLr: Float?
    @Option(help: "Policy ratio clip epsilon.") var clip: Double?
    @Option(help: "Value clip.") var valueClip: Double?
    @Option(help: "Weight of the value loss.") var valueCoef: Double?
    @Option(help: "Discount gamma of GAE.") var gamma: Double?
    @Option(help: "Lambda of GAE.") var lambda: Double?
    @Option(help: "Initial KL coefficient beta.") var klCoef: Double?
    @Option(help: "Target of the mean KL to the reference per response (nats).") var klTarget: Double?
    @Option(help: "Horizon of the adaptive KL controller, in rollouts.") var klHorizon: Double?
    @Option(help: "Longest sampled response, in tokens.") var maxNewTokens: Int?
    @Option(help: "Score the held-out prompts with the gold judge every N iterations.") var goldEvery: Int?
    @Option(name: .customLong("ppo-seed"), help: "Seed for prompt order and sampling.") var seed: UInt64?

    /// `base` with every flag that was given applied.
    func config(_ base: PPOConfig) -> PPOConfig {
        var config = base
        func set<T>(_ value: T?, _ key: WritableKeyPath<PPOConfig, T>) { if let value { config[keyPath: key] = value } }
        set(iterations, \.iterations)
        set(rollouts, \.rollouts)
        set(epochs, \.epochs)
        set(minibatch, \.minibatchSize)
        set(learningRate, \.learningRate)
        set(valueLr, \.valueHeadLearningRate)
        set(clip, \.clip)
        set(valueClip, \.valueClip)
        set(valueCoef, \.valueCoefficient)
        set(gamma, \.gamma)
        set(lambda, \.lambda)
        set(klCoef, \.initialKLCoefficient)
        set(klTarget, \.klTarget)
        set(klHorizon, \.klHorizon)
        set(maxNewTokens, \.maxNewTokens)
        set(goldEvery, \.goldEvery)
        set(seed, \.seed)
        return config
    }

    /// The library's names for PPO's values -> these flags.
    static let flags = [("PPO iterations", "--iterations"), ("PPO rollouts", "--rollouts"), ("PPO epochs", "--epochs"),
                        ("PPO minibatch size", "--minibatch"), ("PPO max new tokens", "--max-new-tokens"),
                        ("PPO evaluation interval", "--gold-every"), ("PPO learning rates", "--ppo-lr and --value-lr"),
                        ("PPO value clip", "--value-clip"), ("PPO clip", "--clip"), ("PPO KL target", "--kl-target"),
                        ("PPO KL horizon", "--kl-horizon"), ("PPO gamma", "--gamma"), ("PPO lambda", "--lambda"),
                        ("PPO coefficients", "--kl-coef and --value-coef")]
}

struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "Optimise a policy against a reward model with PPO and a KL penalty to the SFT reference.",
        discussion: """
        The policy starts from --policy (the SFT model), which is also the frozen reference unless --reference \
        names another; the reward model from --reward is frozen and scores the sampled tokens. Reads \
        ppo_prompts.jsonl (rollouts) and heldout_prompts.jsonl (gold score for the log only) from --data. Writes \
        the tuned policy, ppo_metrics.jsonl (one line per iteration: rm_score, kl, kl_coef, entropy, approx_kl, \
        clip_fraction, policy_loss, value_loss, response_length, gold) and ppo_report.json to --out.
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
    @OptionGroup var preset: PresetOption
    @OptionGroup var ppo: PPOOptions
    @OptionGroup var threadOptions: ThreadOptions

    var ppoConfig: PPOConfig { ppo.config(preset.config.ppo) }

    func validate() throws {
        try validating(PPOOptions.flags) { try ppoConfig.validate() }
        if let scale = goldRewardDiagnostic, !(scale.isFinite && scale > 0) {
            throw ValidationError("--gold-reward-diagnostic must be positive, got \(scale)")
        }
    }

    func run() throws {
        try threadOptions.apply()
        try refuseToOverwriteModel(out)
        var stage = PPOStage(policy: policy, reward: reward, data: DataDirectory(data), out: out, config: ppoConfig)
        stage.reference = reference
        stage.labelerRewardScale = goldRewardDiagnostic
        stage.evaluationMaxNewTokens = preset.config.evaluationMaxNewTokens
        stage.klSamplesPerPrompt = preset.config.klSamplesPerPrompt
        let started = Date()
        let output = try stage.run { Console.status($0) }
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); policy in \(out)")
        guard let last = output.result.logs.last else { return }
        Console.out(String(format: "held-out gold score: sft %.3f -> ppo %.3f (sampled %.3f -> %.3f) | held-out kl %.3f (target %.2f) | "
                           + "last rollouts: \(stage.rewardLabel) score %.3f, kl %.3f\n",
                           output.result.initialGold, last.gold ?? .nan, output.referenceSampledGold, output.heldOutSampledGold,
                           output.heldOutKL, ppoConfig.klTarget, last.rewardScore, last.kl))
    }
}
