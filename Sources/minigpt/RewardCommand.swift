import Alignment
import ArgumentParser
import Foundation
import Pipeline

struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward",
        abstract: "Train a reward model on preference pairs, or score a response with one.",
        subcommands: [RewardTrainCommand.self, RewardScoreCommand.self]
    )
}

struct RewardTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a reward model: a GPT backbone from --init plus a scalar head read at the last token.",
        discussion: """
        Reads pairs_train.jsonl, pairs_val.jsonl and pairs_test.jsonl from --data. Loss: -log sigmoid(r_chosen - \
        r_rejected). Evaluates the validation pairs every --eval-every steps, stops after --patience evaluations \
        without a lower validation loss and keeps the best weights. Writes the backbone (an ordinary model \
        directory), reward_head.safetensors, reward_metrics.jsonl, reward_report.json and (with --policy-samples) \
        policy_pairs.jsonl to --out, and prints the \
        pairwise accuracy, mean chosen and rejected scores and the margin on the held-out test pairs, which chose \
        nothing.
        """
    )

    @Option(help: "Model directory to initialise the backbone from (the SFT model).") var `init`: String
    @Option(help: "Instruction data directory.") var data: String
    @Option(help: "Output directory (must not hold a model yet).") var out: String
    @OptionGroup var preset: PresetOption
    @Option(help: "Maximum optimizer steps.") var steps: Int?
    @Option(help: "Backbone peak learning rate.") var lr: Float?
    @Option(help: "Head learning rate.") var headLr: Float?
    @Option(help: "Preference pairs per step.") var batch: Int?
    @Option(help: "Evaluate the validation pairs every N steps.") var evalEvery: Int?
    @Option(help: "Stop after N evaluations without a lower validation loss.") var patience: Int?
    @Option(help: "Seed for batch sampling and for sampling the policy pairs.") var seed: UInt64?
    @Option(help: "Also sample N answers per SFT training prompt and per PPO prompt from the --init model and add the gold judge's comparisons of them as pairs (0: off; the pipeline uses \(PipelineConfig.full.rewardPolicySamples)).")
    var policySamples = 0
    @Option(help: "Also sample --policy-samples answers per prompt from this model (for example the PPO policy of an earlier round: InstructGPT's iterated reward training) and add the judge's comparisons of them. Repeatable.")
    var alsoSampleFrom: [String] = []
    @Option(help: "Probability that each pair of a batch comes from the sampled answers' pairs (otherwise from the written pairs), 0...1; needs --policy-samples (default: the preset's).")
    var sampledPairShare: Double?
    @OptionGroup var threadOptions: ThreadOptions

    var rewardConfig: RewardConfig {
        var config = preset.config.reward
        if let steps { config.maxSteps = steps }
        if let lr { config.learningRate = lr }
        if let headLr { config.headLearningRate = headLr }
        if let batch { config.batchSize = batch }
        if let evalEvery { config.evalEvery = evalEvery }
        if let patience { config.patience = patience }
        if let seed { config.seed = seed }
        if let sampledPairShare { config.sampledPairShare = sampledPairShare }
        return config
    }

    func validate() throws {
        if sampledPairShare != nil, policySamples == 0 {
            throw ValidationError("--sampled-pair-share needs --policy-samples N (N > 0): without sampled answers every pair is a written one")
        }
        try validating([("reward max steps", "--steps"), ("reward eval every", "--eval-every"), ("reward patience", "--patience"),
                        ("reward batch", "--batch"), ("reward learning rates", "--lr and --head-lr"),
                        ("the reward model's sampled-pair share", "--sampled-pair-share")]) {
            try rewardConfig.validate()
        }
        guard policySamples >= 0 else { throw ValidationError("--policy-samples must not be negative") }
        guard alsoSampleFrom.isEmpty || policySamples > 0 else { throw ValidationError("--also-sample-from needs --policy-samples N (N > 0)") }
    }

    func run() throws {
        try threadOptions.apply()
        try refuseToOverwriteModel(out)
        var stage = RewardStage(initial: `init`, data: DataDirectory(data), out: out, config: rewardConfig)
        stage.policySamples = policySamples
        stage.samplers = alsoSampleFrom
        stage.maxNewTokens = preset.config.ppo.maxNewTokens
        let started = Date()
        let output = try stage.run { Console.status($0) }
        let (result, likelihood) = (output.result, output.likelihood)
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); reward model in \(out)")
        Console.out(String(format: "validation pairs (chose step %d): accuracy %.3f | loss %.4f\n",
                           result.bestStep, result.best.accuracy, result.best.loss))
        let test = result.test
        Console.out(String(format: "held-out test pairs: accuracy %.3f | mean chosen %.3f | mean rejected %.3f | margin %.3f | loss %.4f\n",
                           test.accuracy, test.meanChosen, test.meanRejected, test.margin, test.loss))
        Console.out(String(format: "the --init model's own likelihood of each reply as the reward (untrained, a diagnostic): accuracy %.3f\n",
                           likelihood.accuracy))
        for (label, trained, untrained) in [("vs", test.accuracyByFailure, likelihood.accuracyByFailure), ("on", test.accuracyByFamily, likelihood.accuracyByFamily)] {
            for key in trained.keys.sorted() {
                Console.out(String(format: "  accuracy %@ %-10@ %.3f | likelihood %.3f\n", label, key, trained[key]!, untrained[key] ?? .nan))
            }
        }
    }
}

struct RewardScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Print the reward of one response to one prompt (formatted with the chat template)."
    )

    @Option(help: "Reward model directory (made by `minigpt reward train`).") var model: String
    @Option(help: "The user's prompt.") var prompt: String
    @Option(help: "The assistant's response.") var response: String

    func run() throws {
        let (reward, tokenizer) = try RewardModel.load(model)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let sequence = try encoder.exchange(prompt: ChatPrompt(text: prompt), response: response)
        guard sequence.count <= reward.backbone.config.contextLength else {
            throw ValidationError("--prompt and --response are \(sequence.count) tokens, longer than the model's context of \(reward.backbone.config.contextLength)")
        }
        let score = try reward.scores([sequence], pad: Int32(encoder.template.endOfTextID), batchSize: 1)[0]
        Console.out(String(format: "%.4f\n", score))
    }
}
