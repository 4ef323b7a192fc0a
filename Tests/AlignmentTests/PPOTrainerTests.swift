import Alignment
import Tasks
import Core
import Foundation
import Generation
import Model
import TestSupport
import Tokenizers
import XCTest

final class PPOTrainerTests: XCTestCase {
    func prompts() -> [PromptRecord] {
        var data = InstructDataGenerator(config: InstructDataConfig())
        return data.prompts(count: 12, heldOut: false)
    }

    /// Replies to each prompt `samples` times on the KV cache, reply j seeded with `seed + j`, as
    /// `SampledScores.measure` documents it.
    func regenerate(model: GPT, encoder: ChatEncoder, prompts: [ChatPrompt], samples: Int, maxNewTokens: Int,
                    seed: UInt64) throws -> (prompts: [[Int]], results: [GenerationResult]) {
        let promptTokens = try prompts.flatMap { Array(repeating: try encoder.prompt($0), count: samples) }
        let requests = promptTokens.enumerated().map { index, prompt in
            GenerationRequest(prompt: prompt, sampling: SamplingConfig(temperature: 1, seed: seed &+ UInt64(index)),
                              stop: StopCondition(maxNewTokens: maxNewTokens, endOfTextID: encoder.template.endID), logProbabilities: true)
        }
        return (promptTokens, try BatchGenerator(model: model).generate(requests, tokenizer: encoder.tokenizer))
    }

    /// The KL estimate teacher-forces the sampled replies through both models in padded batches. Recompute
    /// it independently: the policy's log-probabilities as the KV-cache sampler reported them, the
    /// reference's from one unpadded forward pass per reply.
    func testKLEstimateMatchesKVCacheLogProbsAndIsZeroAgainstItself() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let model = try tinyGPT(vocabulary: tokenizer.vocabularySize, seed: 1)
        let other = try tinyGPT(vocabulary: tokenizer.vocabularySize, seed: 2)
        // Large weights, so its next-token distributions are sharp and far from the first model's.
        let large = randomValues(other.parameters.count, scale: 0.5, seed: 3)
        for i in 0..<other.parameters.count { other.parameters[i] += large[i] }
        let texts = prompts().map(\.chatPrompt)
        let sampled = try SampledScores.measure(model: model, reference: other, encoder: encoder, labeler: ToyWorld(), prompts: texts,
                                                samplesPerPrompt: 2, maxNewTokens: 6, seed: 9)
        let againstItself = try SampledScores.measure(model: model, reference: model, encoder: encoder, labeler: ToyWorld(), prompts: texts,
                                                      samplesPerPrompt: 2, maxNewTokens: 6, seed: 9)
        XCTAssertEqual(againstItself.klToReference, 0)
        XCTAssertEqual(againstItself.gold, sampled.gold, "the reference does not change the samples")

        let (promptTokens, results) = try regenerate(model: model, encoder: encoder, prompts: texts, samples: 2, maxNewTokens: 6, seed: 9)
        var expected = 0.0
        for (prompt, result) in zip(promptTokens, results) {
            let sequence = (prompt + result.tokens).map(Int32.init)
            try other.forward(tokens: Array(sequence.dropLast()), targets: Array(sequence.dropFirst()), batch: 1, time: sequence.count - 1)
            let referenceLogProbs = other.lastLosses.suffix(result.tokens.count).map { -Double($0) }
            expected += zip(result.logProbabilities, referenceLogProbs).reduce(0) { $0 + Double($1.0) - $1.1 }
        }
        expected /= Double(results.count)
        XCTAssertEqual(sampled.klToReference, expected, accuracy: 1e-4 * max(1, abs(expected)))
        XCTAssertGreaterThan(sampled.klToReference, 1, "two different models must disagree")
    }

    /// A model that samples only `tokens`, each with equal probability, whatever the context: its final layer
    /// norm has weight 0 and bias 30 * e_0, so every position's logits are 30 * wte[v][0], with wte[v][0] = 1
    /// for `tokens` and 0 for every other token (e^-30 less likely).
    func modelSampling(only tokens: Set<Int>, vocabulary: Int) throws -> GPT {
        let model = try tinyGPT(vocabulary: vocabulary, seed: 1)
        let layout = model.layout, c = model.config.width
        for v in 0..<vocabulary { model.parameters[layout.tokenEmbedding + v * c] = tokens.contains(v) ? 1 : 0 }
        for i in 0..<c {
            model.parameters[layout.finalNormWeight + i] = 0
            model.parameters[layout.finalNormBias + i] = i == 0 ? 30 : 0
        }
        return model
    }

    /// Each reply is "7" repeated a random number of times (half "7", half the end marker per token). Replies
    /// differ between samples, and the judge scores them differently per prompt ("7" answers "3 + 4", a
    /// number answers any sum), so the sampled gold must be the mean of the judge over the same replies, each
    /// judged against its own prompt.
    func testSampledGoldIsTheJudgesMeanOverTheSameSampledReplies() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let seven = try XCTUnwrap(tokenizer.encode("7").first)
        let model = try modelSampling(only: [seven, encoder.template.endID], vocabulary: tokenizer.vocabularySize)
        let texts = ["What is 3 + 4?", "What is 2 + 2?", "Reverse the letters: s t o n e"].map { ChatPrompt(text: $0) }
        let sampled = try SampledScores.measure(model: model, reference: model, encoder: encoder, labeler: ToyWorld(), prompts: texts,
                                                samplesPerPrompt: 8, maxNewTokens: 3, seed: 5)
        let (_, results) = try regenerate(model: model, encoder: encoder, prompts: texts, samples: 8, maxNewTokens: 3, seed: 5)
        let replies = results.map { String(decoding: $0.text, as: UTF8.self) }
        XCTAssertTrue(replies.allSatisfy { $0.allSatisfy { $0 == "7" } }, "\(replies)")
        XCTAssertGreaterThan(Set(replies).count, 2, "the samples must differ: \(replies)")
        let scores = replies.enumerated().map { GoldJudge.score(prompt: texts[$0.offset / 8].text, response: $0.element) }
        XCTAssertEqual(sampled.gold, scores.reduce(0, +) / Double(scores.count), accuracy: 1e-12)
        XCTAssertGreaterThan(Set(scores).count, 1, "the judge must tell the replies apart: \(scores)")
    }

    /// A frozen reward model with a random head scores replies by some fixed function of their text; PPO
    /// must raise that score. The first iteration's KL is exactly 0 (the policy starts as the reference),
    /// and the KL grows as the policy moves. The rollouts' mean reward is noisy from one iteration to the next
    /// (a standard deviation of about 0.5-1 here), so the test compares the means of the first and last 20
    /// iterations and asks for a rise of more than three standard errors of their difference. The earlier form
    /// (16 rollouts, 5-iteration windows) passed on one machine's BLAS kernels and failed on another's: the
    /// rise it looked for was inside that noise.
    func testPPORaisesTheRewardOfItsRolloutsAndStartsAtZeroKL() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let v = tokenizer.vocabularySize
        let policy = try tinyGPT(vocabulary: v, seed: 3)
        let reference = try tinyGPT(vocabulary: v, seed: 3)
        let reward = try RewardModel(backbone: try tinyGPT(vocabulary: v, seed: 4), head: FloatBuffer(randomValues(17, scale: 2, seed: 5)))
        var config = PPOConfig()
        config.iterations = 150
        config.rollouts = 32
        config.minibatchSize = 16
        config.learningRate = 3e-3
        config.maxNewTokens = 4
        config.initialKLCoefficient = 0.01
        config.klTarget = 100
        config.klHorizon = 10_000
        config.goldEvery = 150
        let records = prompts()
        let trainer = try PPOTrainer(policy: policy, reference: reference, reward: reward, encoder: encoder, prompts: records, config: config)
        let heldOut = Array(records.prefix(2))
        let logs = try trainer.run(evaluate: { try GoldEvaluation.evaluate(model: $0, encoder: encoder, prompts: heldOut, maxNewTokens: 4).meanScore }).logs
        XCTAssertEqual(logs.count, 150)
        XCTAssertEqual(logs[0].kl, 0, "the policy starts equal to the reference")
        func meanAndVariance(_ values: [Double]) -> (mean: Double, variance: Double) {
            let mean = values.reduce(0, +) / Double(values.count)
            return (mean, values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1))
        }
        let early = meanAndVariance(logs.prefix(20).map(\.rewardScore)), late = meanAndVariance(logs.suffix(20).map(\.rewardScore))
        let standardError = ((early.variance + late.variance) / 20).squareRoot()
        XCTAssertGreaterThan(late.mean - early.mean, max(0.5, 3 * standardError),
                             "reward: first 20 iterations \(early), last 20 \(late)")
        XCTAssertGreaterThan(logs.suffix(20).map(\.kl).reduce(0, +) / 20, 0.05)
        XCTAssertNotNil(logs.last?.gold)
    }

    /// With the gold judge as the reward, every rollout of a policy that can only say "7" is "777" (3 tokens),
    /// which the judge scores 0.1 for "What is 3 + 5?" (a number, not the answer): the iteration's reward
    /// is 0.1 x the scale. No reward model is needed or checked.
    func testGoldJudgeRewardIsTheJudgesScoreTimesTheScale() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let seven = try XCTUnwrap(tokenizer.encode("7").first)
        let policy = try modelSampling(only: [seven], vocabulary: tokenizer.vocabularySize)
        let reference = try modelSampling(only: [seven], vocabulary: tokenizer.vocabularySize)
        let records = [PromptRecord(family: "add", prompt: "What is 3 + 5?", answer: "8")]
        var config = PPOConfig()
        config.rollouts = 4
        config.minibatchSize = 4
        config.maxNewTokens = 3
        let trainer = try PPOTrainer(policy: policy, reference: reference, reward: try LabelerReward(labeler: ToyWorld(), scale: 4),
                                     encoder: encoder, prompts: records, config: config)
        XCTAssertEqual(GoldJudge.score(prompt: records[0].prompt, response: "777"), 0.1)
        let log = try trainer.iteration(0)
        XCTAssertEqual(log.responseLength, 3)
        XCTAssertEqual(log.rewardScore, 0.4, accuracy: 1e-12)
        for scale in [0, -1, Double.nan] {
            XCTAssertThrowsError(try LabelerReward(labeler: ToyWorld(), scale: scale))
        }
    }

    /// Rollouts are sampled unmodified, so a policy may emit a chat marker inside its reply. Decoded to text and
    /// encoded again as ordinary text (user text cannot fake a marker), 12 `<|user|>` markers are far longer than
    /// the 12 tokens sampled; the reward model reads the sampled tokens themselves, so every rollout is scored on
    /// exactly what was sampled. A prompt that leaves no room for the reply's closing `<|end|>` is refused up front.
    func testRolloutsWhoseTextEncodesLongerThanTheContextAreScored() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let user = encoder.template.userID
        XCTAssertGreaterThan(try encoder.exchange(prompt: ChatPrompt(text: "What is 3 + 5?"), response: String(repeating: "<|user|>", count: 12)).count, 64)
        let policy = try modelSampling(only: [user], vocabulary: tokenizer.vocabularySize)
        let reference = try modelSampling(only: [user], vocabulary: tokenizer.vocabularySize)
        let reward = try RewardModel(backbone: try tinyGPT(vocabulary: tokenizer.vocabularySize, seed: 4),
                                     head: FloatBuffer(randomValues(17, scale: 2, seed: 5)))
        let records = [PromptRecord(family: "add", prompt: "What is 3 + 5?", answer: "8")]
        var config = PPOConfig()
        config.rollouts = 4
        config.minibatchSize = 4
        config.maxNewTokens = 12
        let trainer = try PPOTrainer(policy: policy, reference: reference, reward: reward, encoder: encoder,
                                     prompts: records, config: config)
        let log = try trainer.iteration(0)
        XCTAssertEqual(log.responseLength, 12)
        // Scored on the sampled tokens: the prompt, the 12 markers and the closing <|end|>.
        let sequence = (try encoder.prompt(records[0].chatPrompt) + Array(repeating: user, count: 12) + [encoder.template.endID]).map(Int32.init)
        XCTAssertEqual(log.rewardScore, Double(try reward.scores([sequence], pad: Int32(encoder.template.endOfTextID))[0]), accuracy: 1e-4)
        // One padded batch scores as the rows one at a time would.
        let exchanges = [sequence, Array(sequence.prefix(10))].map { SampledExchange(prompt: ChatPrompt(text: ""), response: "", tokens: $0.map(Int.init)) }
        let alone = try exchanges.map { try reward.scores([$0.tokens.map(Int32.init)], pad: 0)[0] }
        assertClose(try reward.scores(exchanges).map(Float.init), alone, absolute: 1e-4, relative: 1e-4)

        let promptLength = try encoder.prompt(records[0].chatPrompt).count
        config.maxNewTokens = 64 - promptLength
        XCTAssertThrowsError(try PPOTrainer(policy: policy, reference: reference, reward: reward, encoder: encoder,
                                            prompts: records, config: config)) { error in
            XCTAssertTrue("\(error)".contains("closing <|end|>"), "\(error)")
        }
    }

    func testRewardModelOfAnotherVocabularyIsRejected() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let policy = try tinyGPT(vocabulary: tokenizer.vocabularySize, seed: 1)
        let reward = try RewardModel(backbone: try tinyGPT(vocabulary: tokenizer.vocabularySize + 1, seed: 2))
        XCTAssertThrowsError(try PPOTrainer(policy: policy, reference: policy, reward: reward, encoder: encoder,
                                            prompts: prompts(), config: PPOConfig())) { error in
            XCTAssertTrue("\(error)".contains("vocabulary"), "\(error)")
        }
        let wider = try tinyGPT(vocabulary: tokenizer.vocabularySize, seed: 1, width: 32)
        XCTAssertThrowsError(try PPOTrainer(policy: policy, reference: wider, reward: try RewardModel(backbone: policy), encoder: encoder,
                                            prompts: prompts(), config: PPOConfig()))
        XCTAssertThrowsError(try PPOTrainer(policy: policy, reference: policy, reward: try RewardModel(backbone: policy), encoder: encoder,
                                            prompts: [], config: PPOConfig()))
    }
}

final class PolicyPairsTests: XCTestCase {
    /// The policy answers a training prompt several times; each distinct answer the judge scores below the
    /// best candidate (the demonstration here) is paired against it, duplicates once, ties never.
    func testPolicyAnswersArePairedAgainstTheBestCandidate() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        var generator = SeededGenerator(seed: 8)
        let model = try GPT(config: ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 48, layers: 1, heads: 2, width: 16),
                            generator: &generator)
        let demo = Demonstration(family: "add", prompt: "What is 2 + 3?", response: "5")
        let pairs = try PolicyPairs.make(model: model, encoder: encoder, labeler: ToyWorld(), demonstrations: [demo], samplesPerPrompt: 6,
                                         maxNewTokens: 5, seed: 1)
        // A random model's answers are wrong; each distinct one is paired against "5" with the judge's scores.
        XCTAssertFalse(pairs.isEmpty)
        XCTAssertEqual(Set(pairs.map(\.rejected)).count, pairs.count, "each distinct answer once")
        for pair in pairs {
            XCTAssertEqual(pair.chosen, "5")
            XCTAssertEqual(pair.chosenScore, 1)
            XCTAssertEqual(pair.rejectedScore, GoldJudge.score(prompt: demo.prompt, response: pair.rejected))
            XCTAssertLessThan(pair.rejectedScore, 1)
            XCTAssertEqual(pair.failure, PolicyPairs.failure)
        }
        // Another seed samples other answers.
        XCTAssertNotEqual(try PolicyPairs.make(model: model, encoder: encoder, labeler: ToyWorld(), demonstrations: [demo], samplesPerPrompt: 6,
                                               maxNewTokens: 5, seed: 2).map(\.rejected), pairs.map(\.rejected))
    }
}

final class BestOfNTests: XCTestCase {
    /// With one sample the reward model's pick, the sample and the best sample are the same answer; with
    /// more, the best sample bounds the other two, and the families' rows average to the totals.
    func testBestOfNBoundsAndOneSampleIdentity() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        var generator = SeededGenerator(seed: 12)
        let config = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 48, layers: 1, heads: 2, width: 16)
        let model = try GPT(config: config, generator: &generator)
        let reward = try RewardModel(backbone: try GPT(config: config, generator: &generator), head: FloatBuffer(randomValues(17, scale: 1, seed: 3)))
        var data = InstructDataGenerator(config: InstructDataConfig())
        let prompts = data.prompts(count: 12, heldOut: false)
        let one = try BestOfN.evaluate(model: model, reward: reward, labeler: ToyWorld(), encoder: encoder, prompts: prompts, n: 1, maxNewTokens: 4, seed: 2)
        XCTAssertEqual(one.rewardPick, one.random)
        XCTAssertEqual(one.oracle, one.random)
        let four = try BestOfN.evaluate(model: model, reward: reward, labeler: ToyWorld(), encoder: encoder, prompts: prompts, n: 4, maxNewTokens: 4, seed: 2)
        XCTAssertEqual(four.random, one.random, "the first of the N samples is the one-sample draw")
        XCTAssertGreaterThanOrEqual(four.oracle, four.rewardPick)
        XCTAssertGreaterThanOrEqual(four.oracle, four.random)
        let counts = Dictionary(grouping: prompts, by: \.family).mapValues(\.count)
        let weighted = counts.reduce(0.0) { $0 + Double($1.value) * four.byFamily[$1.key]![2] } / Double(prompts.count)
        XCTAssertEqual(weighted, four.oracle, accuracy: 1e-12)
        XCTAssertThrowsError(try BestOfN.evaluate(model: model, reward: reward, labeler: ToyWorld(), encoder: encoder, prompts: prompts, n: 0, maxNewTokens: 4, seed: 2))
    }
}
