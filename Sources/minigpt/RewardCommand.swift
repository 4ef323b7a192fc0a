import Alignment
import ArgumentParser
import Core
import Foundation
import Model

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
    @Option(help: "Maximum optimizer steps.") var steps = RewardConfig().maxSteps
    @Option(help: "Backbone peak learning rate.") var lr = RewardConfig().learningRate
    @Option(help: "Head learning rate.") var headLr = RewardConfig().headLearningRate
    @Option(help: "Preference pairs per step.") var batch = RewardConfig().batchSize
    @Option(help: "Evaluate the validation pairs every N steps.") var evalEvery = RewardConfig().evalEvery
    @Option(help: "Stop after N evaluations without a lower validation loss.") var patience = RewardConfig().patience
    @Option(help: "Seed for batch sampling and for sampling the policy pairs.") var seed = RewardConfig().seed
    @Option(help: "Also sample N answers per SFT training prompt and per PPO prompt from the --init model and add the gold judge's comparisons of them as pairs (0: off; the pipeline uses \(PipelineConfig.full.rewardPolicySamples)).")
    var policySamples = 0
    @Option(help: "Also sample --policy-samples answers per prompt from this model (for example the PPO policy of an earlier round: InstructGPT's iterated reward training) and add the judge's comparisons of them. Repeatable.")
    var alsoSampleFrom: [String] = []
    @Option(help: "Probability that each pair of a batch comes from the sampled answers' pairs (otherwise from the written pairs), 0...1; needs --policy-samples (default: \(RewardConfig().sampledPairShare)).")
    var sampledPairShare: Double?
    @OptionGroup var threadOptions: ThreadOptions

    var rewardConfig: RewardConfig {
        var config = RewardConfig()
        config.maxSteps = steps
        config.learningRate = lr
        config.headLearningRate = headLr
        config.batchSize = batch
        config.evalEvery = evalEvery
        config.patience = patience
        config.seed = seed
        if let sampledPairShare { config.sampledPairShare = sampledPairShare }
        return config
    }

    func validate() throws {
        if let sampledPairShare {
            guard (0...1).contains(sampledPairShare) else { throw ValidationError("--sampled-pair-share must be in 0...1") }
            guard policySamples > 0 else {
                throw ValidationError("--sampled-pair-share needs --policy-samples N (N > 0): without sampled answers every pair is a written one")
            }
        }
        try rewardConfig.validate()
        guard policySamples >= 0 else { throw ValidationError("--policy-samples must not be negative") }
        guard alsoSampleFrom.isEmpty || policySamples > 0 else { throw ValidationError("--also-sample-from needs --policy-samples N (N > 0)") }
    }

    func run() throws {
        try threadOptions.apply()
        try refuseToOverwriteModel(out)
        let (backbone, tokenizer) = try StageDirectory.load(`init`)
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let train = try JSONL.read(PreferencePair.self, from: data + "/" + InstructFiles.pairsTrain)
        let validationPairs = try JSONL.read(PreferencePair.self, from: data + "/" + InstructFiles.pairsValidation)
        let testPairs = try JSONL.read(PreferencePair.self, from: data + "/" + InstructFiles.pairsTest)
        var policyPairs: [PreferencePair] = []
        if policySamples > 0 {
            let demonstrations = try JSONL.read(Demonstration.self, from: data + "/" + InstructFiles.sftTrain)
            let ppoPrompts = try JSONL.read(PromptRecord.self, from: data + "/" + InstructFiles.ppoPrompts)
            // Every model is loaded and checked before the first (slow) sampling.
            let extraSamplers = try alsoSampleFrom.map { directory in
                let (model, samplerTokenizer) = try StageDirectory.load(directory)
                try PPOStages.requireSameTokenizer(samplerTokenizer, tokenizer, "the model in \(directory) uses a different tokenizer than the one in \(`init`)")
                return model
            }
            for (index, sampler) in ([backbone] + extraSamplers).enumerated() {
                policyPairs += try PolicyPairs.make(model: sampler, encoder: encoder, demonstrations: demonstrations, ppoPrompts: ppoPrompts,
                                                    samplesPerPrompt: policySamples, maxNewTokens: PPOConfig().maxNewTokens,
                                                    seed: PolicyPairs.seed(seed, sampler: index))
            }
            Console.status("\(policyPairs.count) pairs from the answers of \(1 + extraSamplers.count) sampled model(s), added to \(train.count) written pairs")
        }
        let model = try RewardModel(backbone: backbone)
        let trainer = try RewardTrainer(model: model, encoder: encoder, written: train, sampled: policyPairs, validation: validationPairs,
                                        test: testPairs, config: rewardConfig)
        // Before training changes the backbone: the --init model's own likelihood as an untrained reward (a diagnostic).
        let likelihood = try LikelihoodRanking.metrics(model: backbone, encoder: encoder, pairs: testPairs)
        let started = Date()
        let result = try trainer.run { point in
            let loss = point.trainLoss.map { String(format: "%.4f", $0) } ?? "-"
            Console.status(String(format: "step %d | train %@ | val loss %.4f | val accuracy %.3f | margin %.3f", point.step, loss,
                                  point.validation.loss, point.validation.accuracy, point.validation.margin))
        }
        try model.save(tokenizer: tokenizer, to: out, metadata: ["init": `init`, "best_step": "\(result.bestStep)"])
        try JSONL.write(result.curve, to: out + "/reward_metrics.jsonl")
        if policySamples > 0 { try JSONL.write(policyPairs, to: out + "/" + PolicyPairs.fileName) }
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        let report = RewardTrainingReport(result: result, config: rewardConfig, writtenPairs: train.count, sampledPairs: policyPairs.count)
        try AtomicFile.write(try json.encode(report), to: out + "/reward_report.json")
        Console.status("done in \(formatDuration(Date().timeIntervalSince(started))); reward model in \(out)")
        Console.out(String(format: "validation pairs (chose step %d): accuracy %.3f | loss %.4f\n",
                           result.bestStep, result.best.accuracy, result.best.loss))
        let test = result.test
        Console.out(String(format: "held-out test pairs: accuracy %.3f | mean chosen %.3f | mean rejected %.3f | margin %.3f | loss %.4f\n",
                           test.accuracy, test.meanChosen, test.meanRejected, test.margin, test.loss))
        Console.out(String(format: "the --init model's own likelihood of each reply as the reward (untrained, a diagnostic): accuracy %.3f\n",
                           likelihood.accuracy))
        for failure in test.accuracyByFailure.keys.sorted() {
            Console.out(String(format: "  accuracy vs %-10@ %.3f | likelihood %.3f\n", failure, test.accuracyByFailure[failure]!,
                               likelihood.accuracyByFailure[failure] ?? .nan))
        }
        for family in test.accuracyByFamily.keys.sorted() {
            Console.out(String(format: "  accuracy on %-10@ %.3f | likelihood %.3f\n", family, test.accuracyByFamily[family]!,
                               likelihood.accuracyByFamily[family] ?? .nan))
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
        let sequence = try encoder.exchange(prompt: prompt, response: response)
        guard sequence.count <= reward.backbone.config.contextLength else {
            throw ValidationError("prompt and response are \(sequence.count) tokens, longer than the model's context of \(reward.backbone.config.contextLength)")
        }
        let score = try reward.scores([sequence.map(Int32.init)], pad: Int32(encoder.template.endOfTextID))[0]
        Console.out(String(format: "%.4f\n", score))
    }
}

/// reward_report.json: the training result's keys (curve, bestStep, best, test, ...) beside the settings and
/// how many pairs of each kind there were, so a run says how its batches were mixed.
struct RewardTrainingReport: Encodable {
    var result: RewardResult
    var config: RewardConfig
    var writtenPairs: Int
    var sampledPairs: Int

    enum CodingKeys: String, CodingKey {
        case config
        case writtenPairs = "written_pairs"
        case sampledPairs = "sampled_pairs"
    }

    func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(config, forKey: .config)
        try container.encode(writtenPairs, forKey: .writtenPairs)
        try container.encode(sampledPairs, forKey: .sampledPairs)
    }
}
