import Core
import Foundation
import Generation
import Model
import Tokenizers
import Training

/// PPO against a frozen reward function (InstructGPT's third stage). Each iteration samples one response per
/// drawn prompt from the policy on the KV cache (temperature 1), scores the sampled tokens with the reward,
/// turns the score and the per-token KL to the frozen reference into per-token rewards, estimates advantages
/// with GAE from the value head, and runs `epochs` passes of clipped-surrogate + clipped-value minibatch
/// updates. The adaptive controller then moves beta toward the KL target. It knows no task world: a held-out
/// evaluation, if any, is a closure the caller passes to `run`.
public final class PPOTrainer {
    public let policy: GPT
    public let valueHead: ValueHead
    public let reference: GPT
    public let reward: any RewardFunction
    public let encoder: ChatEncoder
    public let config: PPOConfig
    public private(set) var klController: AdaptiveKLController
    let prompts: [PromptRecord]
    let encodedPrompts: [[Int]]
    let pad: Int32
    private let tensors: TrainedTensors
    private let rolloutGenerator: BatchGenerator
    private var generator: SeededGenerator

    /// One sampled response and everything the updates need about it (per-token arrays have one entry per
    /// response token).
    struct Rollout {
        var prompt: [Int]
        var response: [Int]
        var logProbs: [Double]
        var values: [Double]
        var advantages: [Double]
        var returns: [Double]
    }

    public init(policy: GPT, reference: GPT, reward: any RewardFunction, encoder: ChatEncoder, prompts: [PromptRecord],
                config: PPOConfig) throws {
        try config.validate()
        guard !prompts.isEmpty else { throw AlignmentError.emptyDataset("the PPO prompt set") }
        guard reference.config == policy.config else {
            throw AlignmentError.mismatch("the reference model's config differs from the policy's: it must be the policy's starting model")
        }
        try encoder.checkVocabulary(of: policy)
        try reward.check(policy: policy.config)
        self.policy = policy
        self.reference = reference
        self.reward = reward
        self.encoder = encoder
        self.config = config
        self.prompts = prompts
        encodedPrompts = try prompts.map { try encoder.prompt($0.chatPrompt) }
        for prompt in encodedPrompts {
            // + 1: a reply cut at the token limit is closed with <|end|> for the reward model.
            try encoder.checkFits(prompt.count + config.maxNewTokens + 1, contextLength: policy.config.contextLength,
                                  what: "a PPO prompt plus \(config.maxNewTokens) new tokens and the closing <|end|>")
        }
        valueHead = try ValueHead(width: policy.config.width)
        klController = AdaptiveKLController(beta: config.initialKLCoefficient, target: config.klTarget, horizon: config.klHorizon)
        pad = Int32(encoder.template.endOfTextID)
        tensors = TrainedTensors(model: policy, settings: AdamWSettings())
        tensors.addHead(parameters: valueHead.parameters, gradients: valueHead.gradients, settings: AdamWSettings(),
                        rateScale: config.valueHeadLearningRate / config.learningRate)
        rolloutGenerator = BatchGenerator(model: policy)
        generator = SeededGenerator(seed: config.seed)
    }

    /// Samples one response per prompt from the policy exactly as it is (temperature 1, nothing banned), so
    /// the rollout distribution is the one whose log-probabilities the updates use.
    func sampleResponses(_ promptTokens: [[Int]]) throws -> [GenerationResult] {
        let stop = encoder.template.replyStop(maxNewTokens: config.maxNewTokens)
        let requests = promptTokens.map { prompt in
            GenerationRequest(prompt: prompt, sampling: SamplingConfig(temperature: 1, seed: generator.next()), stop: stop)
        }
        return try rolloutGenerator.generate(requests, tokenizer: encoder.tokenizer)
    }

    /// One iteration: rollouts, their rewards and advantages, then the minibatch updates.
    public func iteration(_ index: Int) throws -> PPOIterationLog {
        let started = Date()
        let drawn = (0..<config.rollouts).map { _ in generator.nextInt(below: prompts.count) }
        let promptTokens = drawn.map { encodedPrompts[$0] }
        let results = try sampleResponses(promptTokens)
        let endID = encoder.template.endID
        let exchanges = zip(drawn, results).map { promptIndex, result in
            SampledExchange(prompt: prompts[promptIndex].chatPrompt, response: String(decoding: result.text, as: UTF8.self),
                            tokens: encodedPrompts[promptIndex] + result.tokens + (result.tokens.last == endID ? [] : [endID]))
        }
        let scores = try reward.scores(exchanges)
        let beta = klController.beta
        var (rollouts, klPerResponse, entropies) = ([Rollout](), [Double](), [Double]())
        for start in stride(from: 0, to: drawn.count, by: config.minibatchSize) {
            let range = start..<min(start + config.minibatchSize, drawn.count)
            let batch = ResponseBatch(prompts: range.map { promptTokens[$0] }, responses: range.map { results[$0].tokens }, pad: pad)
            let referenceLogProbs = try batch.logProbs(reference)
            let current = try batch.evaluate(policy, entropies: true, valueHead: valueHead)
            entropies += current.entropies.flatMap { $0 }
            for (k, i) in range.enumerated() {
                let kl = PPOMath.tokenKL(logProbs: current.logProbs[k], referenceLogProbs: referenceLogProbs[k])
                klPerResponse.append(kl.reduce(0, +))
                let rewards = PPOMath.rewards(score: scores[i], kl: kl, beta: beta)
                let (advantages, returns) = PPOMath.gae(rewards: rewards, values: current.values[k], gamma: config.gamma, lambda: config.lambda)
                rollouts.append(Rollout(prompt: promptTokens[i], response: results[i].tokens, logProbs: current.logProbs[k],
                                        values: current.values[k], advantages: advantages, returns: returns))
            }
        }
        whitenAdvantages(&rollouts)
        var stats: [PPOMinibatchStats] = []
        for _ in 0..<config.epochs {
            let order = Array(rollouts.indices).shuffled(using: &generator)
            for start in stride(from: 0, to: order.count, by: config.minibatchSize) {
                stats.append(try update(order[start..<min(start + config.minibatchSize, order.count)].map { rollouts[$0] }))
            }
        }
        let meanKL = mean(klPerResponse)
        klController.update(kl: meanKL, steps: config.rollouts)
        return PPOIterationLog(
            iteration: index + 1, rewardScore: mean(scores), kl: meanKL, klCoefficient: beta, entropy: mean(entropies),
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

    /// One gradient step of the combined objective on a minibatch of rollouts: policy and value head clipped
    /// as one vector, then updated together.
    func update(_ chunk: [Rollout]) throws -> PPOMinibatchStats {
        let batch = ResponseBatch(prompts: chunk.map(\.prompt), responses: chunk.map(\.response), pad: pad)
        tensors.zeroGradients()
        let stats = try PPOLoss.lossAndBackward(
            model: policy, valueHead: valueHead, batch: batch, oldLogProbs: chunk.flatMap(\.logProbs), advantages: chunk.flatMap(\.advantages),
            oldValues: chunk.flatMap(\.values), returns: chunk.flatMap(\.returns), clip: config.clip, valueClip: config.valueClip,
            valueCoefficient: config.valueCoefficient, valueGradientIntoBackbone: config.valueThroughBackbone)
        tensors.step(learningRate: config.learningRate, clip: config.gradientClip)
        return stats
    }

    /// Runs every iteration. `evaluate` (a held-out score of the policy) runs before the first, every
    /// `goldEvery` iterations and after the last; `report` sees each log line as it is made.
    public func run(evaluate: ((GPT) throws -> Double)? = nil, report: (PPOIterationLog) -> Void = { _ in }) throws -> PPOResult {
        let before = try evaluate?(policy)
        var logs: [PPOIterationLog] = []
        for index in 0..<config.iterations {
            var log = try iteration(index)
            if (index + 1) % config.goldEvery == 0 || index + 1 == config.iterations { log.gold = try evaluate?(policy) }
            guard log.rewardScore.isFinite, log.policyLoss.isFinite, log.valueLoss.isFinite else {
                throw AlignmentError.invalidArgument("PPO iteration \(index + 1) produced a non-finite loss or reward at learning rate \(config.learningRate)")
            }
            logs.append(log)
            report(log)
        }
        return PPOResult(initialGold: before ?? .nan, logs: logs)
    }
}

public struct PPOResult: Codable, Sendable {
    /// Held-out score of the starting policy (NaN without an evaluator).
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
