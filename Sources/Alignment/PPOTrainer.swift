import Core
import Foundation
import Generation
import Model
import Tokenizers
import Training

/// PPO against a frozen reward model (InstructGPT's third stage). Each iteration samples one response per
/// drawn prompt from the policy on the KV cache (temperature 1), scores it with the reward model (or, as a
/// diagnostic only, the gold judge: `PPORewardSource`), turns the score and the per-token KL to the frozen
/// reference into per-token rewards, estimates advantages with GAE from the value head, and runs `epochs`
/// passes of clipped-surrogate + clipped-value minibatch updates. The adaptive controller then moves beta
/// toward the KL target. The held-out prompts are only scored by
/// the gold judge for the log; nothing trains on them.
public final class PPOTrainer {
    public let policy: GPT
    public let valueHead: ValueHead
    public let reference: GPT
    public let reward: PPORewardSource
    public let encoder: ChatEncoder
    public let config: PPOConfig
    public private(set) var klController: AdaptiveKLController
    let prompts: [PromptRecord]
    let encodedPrompts: [[Int]]
    let heldOut: [PromptRecord]
    let pad: Int32
    private let optimizer: AdamW
    private let headOptimizer: Adam
    private let rolloutGenerator: BatchGenerator
    private var generator: SeededGenerator
    private var updates = 0

    /// One sampled response and everything the updates need about it (per-token arrays have one entry per
    /// response token).
    struct Rollout {
        var prompt: [Int]
        var response: [Int]
        var score: Double
        var logProbs: [Double]
        var values: [Double]
        var advantages: [Double]
        var returns: [Double]
    }

    public init(policy: GPT, reference: GPT, reward: PPORewardSource, encoder: ChatEncoder,
                prompts: [PromptRecord], heldOut: [PromptRecord], config: PPOConfig) throws {
        try config.validate()
        try reward.validate()
        guard !prompts.isEmpty else { throw AlignmentError.emptyDataset("the PPO prompt set") }
        guard !heldOut.isEmpty else { throw AlignmentError.emptyDataset("the held-out prompt set") }
        try Self.checkCompatible(policy: policy, reference: reference, reward: reward, tokenizer: encoder.tokenizer)
        self.policy = policy
        self.reference = reference
        self.reward = reward
        self.encoder = encoder
        self.config = config
        self.prompts = prompts
        self.heldOut = heldOut
        encodedPrompts = try prompts.map { try encoder.prompt($0.prompt) }
        for prompt in encodedPrompts {
            // + 1: a reply cut at the token limit is closed with <|end|> for the reward model.
            try encoder.checkFits(prompt.count + config.maxNewTokens + 1, contextLength: policy.config.contextLength,
                                  what: "a PPO prompt plus --max-new-tokens and the closing <|end|>")
        }
        valueHead = try ValueHead(width: policy.config.width)
        klController = AdaptiveKLController(beta: config.initialKLCoefficient, target: config.klTarget, horizon: config.klHorizon)
        pad = Int32(encoder.template.endOfTextID)
        optimizer = AdamW(layout: policy.layout)
        headOptimizer = Adam(count: valueHead.parameters.count)
        rolloutGenerator = BatchGenerator(model: policy)
        generator = SeededGenerator(seed: config.seed)
    }

    /// The reference and the reward model (if the source is one) must read the policy's tokens the same way:
    /// same vocabulary, same context, same special tokens.
    static func checkCompatible(policy: GPT, reference: GPT, reward source: PPORewardSource, tokenizer: any Tokenizer) throws {
        guard reference.config == policy.config else {
            throw AlignmentError.mismatch("the reference model's config differs from the policy's: it must be the policy's SFT model")
        }
        guard tokenizer.vocabularySize == policy.config.vocabularySize else {
            throw AlignmentError.mismatch("the tokenizer's vocabulary (\(tokenizer.vocabularySize)) does not match the policy's (\(policy.config.vocabularySize))")
        }
        guard case .model(let reward) = source else { return }
        let rewardConfig = reward.backbone.config
        guard rewardConfig.vocabularySize == policy.config.vocabularySize else {
            throw AlignmentError.mismatch("the reward model's vocabulary (\(rewardConfig.vocabularySize)) does not match the policy's (\(policy.config.vocabularySize)): train it from the same SFT model")
        }
        guard rewardConfig.contextLength >= policy.config.contextLength else {
            throw AlignmentError.mismatch("the reward model's context (\(rewardConfig.contextLength)) is shorter than the policy's (\(policy.config.contextLength))")
        }
    }

    // MARK: Rollouts

    /// Samples one response per prompt from the policy exactly as it is (temperature 1, nothing banned), so
    /// the rollout distribution is the one whose log-probabilities the updates use. (With chat markers banned
    /// while sampling, as in chat, every negative advantage pushed probability into the never-sampled markers:
    /// in a test the policy's own samples ended at log-probabilities 40 nats below the reference's.)
    func sampleResponses(_ promptTokens: [[Int]]) throws -> [GenerationResult] {
        let stop = encoder.template.replyStop(maxNewTokens: config.maxNewTokens)
        let requests = promptTokens.map { prompt in
            GenerationRequest(prompt: prompt, sampling: SamplingConfig(temperature: 1, seed: generator.next()), stop: stop)
        }
        return try rolloutGenerator.generate(requests, tokenizer: encoder.tokenizer)
    }

    // MARK: One iteration

    public func iteration(_ index: Int) throws -> PPOIterationLog {
        let started = Date()
        let drawn = (0..<config.rollouts).map { _ in generator.nextInt(below: prompts.count) }
        let promptTokens = drawn.map { encodedPrompts[$0] }
        let results = try sampleResponses(promptTokens)
        let texts = results.map { String(decoding: $0.text, as: UTF8.self) }
        let endID = encoder.template.endID
        let sampled = zip(promptTokens, results).map { prompt, result in
            prompt + result.tokens + (result.tokens.last == endID ? [] : [endID])
        }
        let rewardScores = try reward.scores(prompts: drawn.map { prompts[$0].prompt }, responses: texts, sampled: sampled,
                                             encoder: encoder, batchSize: config.minibatchSize)

        // Old log-probabilities, values and entropies of the policy; the reference's log-probabilities.
        var rollouts: [Rollout] = [], klPerResponse: [Double] = [], entropies: [Double] = []
        let beta = klController.beta
        for start in stride(from: 0, to: drawn.count, by: config.minibatchSize) {
            let range = start..<min(start + config.minibatchSize, drawn.count)
            let batch = ResponseBatch(prompts: range.map { promptTokens[$0] }, responses: range.map { results[$0].tokens }, pad: pad)
            let referenceLogProbs = try batch.logProbs(reference)
            let logProbs = try batch.logProbs(policy)
            entropies += batch.entropies(policy).flatMap { $0 }
            let values = batch.positions.map { valueHead.values(model: policy, rows: $0) }
            for (k, i) in range.enumerated() {
                let kl = PPOMath.tokenKL(logProbs: logProbs[k], referenceLogProbs: referenceLogProbs[k])
                klPerResponse.append(kl.reduce(0, +))
                let rewards = PPOMath.rewards(score: rewardScores[i], kl: kl, beta: beta)
                let (advantages, returns) = PPOMath.gae(rewards: rewards, values: values[k], gamma: config.gamma, lambda: config.lambda)
                rollouts.append(Rollout(prompt: promptTokens[i], response: results[i].tokens, score: rewardScores[i],
                                        logProbs: logProbs[k], values: values[k], advantages: advantages, returns: returns))
            }
        }
        whitenAdvantages(&rollouts)

        var stats: [PPOMinibatchStats] = []
        for _ in 0..<config.epochs {
            let order = Array(rollouts.indices).shuffled(using: &generator)
            for start in stride(from: 0, to: order.count, by: config.minibatchSize) {
                let chunk = order[start..<min(start + config.minibatchSize, order.count)].map { rollouts[$0] }
                stats.append(try update(chunk))
            }
        }
        let meanKL = mean(klPerResponse)
        klController.update(kl: meanKL, steps: config.rollouts)

        return PPOIterationLog(
            iteration: index + 1, rewardScore: mean(rewardScores), kl: meanKL, klCoefficient: beta, entropy: mean(entropies),
            approxKL: mean(stats.map(\.approxKL)), clipFraction: mean(stats.map(\.clipFraction)),
            policyLoss: mean(stats.map(\.policyLoss)), valueLoss: mean(stats.map(\.valueLoss)),
            responseLength: mean(results.map { Double($0.tokens.count) }), gold: nil, seconds: Date().timeIntervalSince(started))
    }

    /// Whitens the advantages over every token of the iteration (mean 0, standard deviation 1).
    func whitenAdvantages(_ rollouts: inout [Rollout]) {
        let whitened = PPOMath.whiten(rollouts.flatMap(\.advantages))
        var offset = 0
        for i in rollouts.indices {
            let n = rollouts[i].advantages.count
            rollouts[i].advantages = Array(whitened[offset..<offset + n])
            offset += n
        }
    }

    /// One gradient step of the combined objective on a minibatch of rollouts.
    func update(_ chunk: [Rollout]) throws -> PPOMinibatchStats {
        let batch = ResponseBatch(prompts: chunk.map(\.prompt), responses: chunk.map(\.response), pad: pad)
        policy.zeroGradients()
        valueHead.gradients.fill(0)
        let padded = batch.padded
        let stats = try PPOPolicyStep.lossAndBackward(
            model: policy, valueHead: valueHead, tokens: padded.tokens, targets: padded.targets, mask: batch.mask,
            batch: padded.batch, time: padded.time, oldLogProbs: chunk.flatMap(\.logProbs), advantages: chunk.flatMap(\.advantages),
            oldValues: chunk.flatMap(\.values), returns: chunk.flatMap(\.returns), clip: config.clip, valueClip: config.valueClip,
            valueCoefficient: config.valueCoefficient, valueGradientIntoBackbone: config.valueThroughBackbone)
        if config.gradientClip > 0 {
            _ = AdamW.clipGradients(policy.gradients, maxNorm: config.gradientClip)
            _ = AdamW.clipGradients(valueHead.gradients, maxNorm: config.gradientClip)
        }
        updates += 1
        optimizer.update(parameters: policy.parameters, gradients: policy.gradients, learningRate: config.learningRate,
                         step: updates, config: config.trainConfig)
        headOptimizer.update(parameters: valueHead.parameters, gradients: valueHead.gradients,
                             learningRate: config.valueHeadLearningRate, step: updates)
        return stats
    }

    // MARK: The loop

    /// Runs every iteration, measuring the held-out gold score before the first, every `goldEvery`
    /// iterations and after the last. `report` sees each log line as it is made.
    public func run(goldMaxNewTokens: Int = 24, report: (PPOIterationLog) -> Void = { _ in }) throws -> PPOResult {
        let before = try GoldEvaluation.evaluate(model: policy, encoder: encoder, prompts: heldOut, maxNewTokens: goldMaxNewTokens)
        var logs: [PPOIterationLog] = []
        for index in 0..<config.iterations {
            var log = try iteration(index)
            if (index + 1) % config.goldEvery == 0 || index + 1 == config.iterations {
                log.gold = try GoldEvaluation.evaluate(model: policy, encoder: encoder, prompts: heldOut, maxNewTokens: goldMaxNewTokens).meanScore
            }
            guard log.rewardScore.isFinite, log.policyLoss.isFinite, log.valueLoss.isFinite else {
                throw AlignmentError.invalidArgument("PPO iteration \(index + 1) produced a non-finite loss or reward; try a lower --lr")
            }
            logs.append(log)
            report(log)
        }
        return PPOResult(initialGold: before.meanScore, logs: logs)
    }
}

public struct PPOResult: Codable, Sendable {
    /// Held-out gold score of the starting (SFT) policy.
    public var initialGold: Double
    public var logs: [PPOIterationLog]

    enum CodingKeys: String, CodingKey {
        case logs
        case initialGold = "initial_gold"
    }
}

func mean(_ values: [Double]) -> Double {
    values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
}
