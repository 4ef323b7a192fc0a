import Alignment
import Tasks
import Core
import Foundation
import Generation
import Model
import TestSupport
import Tokenizers
import Training
import XCTest

/// A small BPE tokenizer with the chat template's special tokens, trained on prompts of the task families and
/// their bare answers (no sentence demonstrations, so the fixture does not move with that share).
func chatTokenizer() throws -> BPETokenizer {
    var config = InstructDataConfig()
    config.sentenceDemonstrationShare = 0
    var generator = InstructDataGenerator(config: config)
    let text = generator.demonstrations(count: 200, heldOut: false).map { $0.prompt + " " + $0.response }.joined(separator: "\n")
    return try BPETrainer.train(corpus: [Array(text.utf8)], vocabularySize: 300, pattern: .gpt4,
                                specialTokens: ChatTemplate.specialTokens).tokenizer
}

final class RewardModelTests: XCTestCase {
    let tiny = ModelConfig(vocabularySize: 7, contextLength: 6, layers: 2, heads: 2, width: 8)

    /// The pairwise loss -log sigmoid(r_chosen - r_rejected), head and backbone, against central finite
    /// differences of an independent Double computation (ReferenceGPT's hidden states and the head in Double).
    /// Sequences have different lengths, so padding and the last-token read are exercised too.
    func testPairwiseLossGradientMatchesFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 5)
        let backbone = try GPT(config: tiny, generator: &generator)
        // Large random weights, so every nonlinearity is exercised.
        for i in 0..<backbone.parameters.count { backbone.parameters[i] = 0.3 * generator.nextNormal() }
        for tensor in backbone.layout.tensors where tensor.name.hasSuffix("ln_1.weight") || tensor.name.hasSuffix("ln_2.weight") || tensor.name == "ln_f.weight" {
            for i in 0..<tensor.count { backbone.parameters[tensor.offset + i] += 1 }
        }
        let head = FloatBuffer(randomValues(tiny.width + 1, scale: 0.5, seed: 11))
        let model = try RewardModel(backbone: backbone, head: head)
        let chosen: [[Int32]] = [[1, 4, 2, 6], [3, 0, 5, 5, 1, 2]]
        let rejected: [[Int32]] = [[1, 4, 2, 2, 3], [3, 6]]
        model.zeroGradients()
        let result = try model.pairwiseLoss(chosen: chosen, rejected: rejected, pad: 0, backward: true)

        let reference = ReferenceGPT(config: tiny)
        let p = backbone.parameters.count, c = tiny.width
        func loss(_ x: [Double]) -> Double {
            let parameters = Array(x[0..<p]), w = Array(x[p..<(p + c)]), bias = x[p + c]
            func reward(_ sequence: [Int32]) -> Double {
                let hidden = reference.hiddenStates(parameters: parameters, tokens: sequence, batch: 1, time: sequence.count).last!
                return zip(w, hidden).map { $0 * $1 }.reduce(bias, +)
            }
            var total = 0.0
            for (a, b) in zip(chosen, rejected) {
                let margin = reward(a) - reward(b)
                total += log1p(exp(-margin)) / Double(chosen.count)
            }
            return total
        }
        let x = (backbone.parameters.array + head.array).map(Double.init)
        assertClose(Double(result.loss), loss(x), absolute: 1e-5, relative: 1e-5)
        let numeric = finiteDifferenceGradient(of: x, loss)
        let analytic = (backbone.gradients.array + model.headGradients.array).map(Double.init)
        for tensor in backbone.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            assertClose(Array(analytic[range]), Array(numeric[range]), absolute: 3e-5, relative: 3e-3, tensor.name)
        }
        assertClose(Array(analytic[p...]), Array(numeric[p...]), absolute: 3e-5, relative: 3e-3, "head")
        XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-2)
    }

    func testZeroHeadGivesZeroRewardsAndLossLog2() throws {
        var generator = SeededGenerator(seed: 1)
        let model = try RewardModel(backbone: try GPT(config: tiny, generator: &generator))
        let result = try model.pairwiseLoss(chosen: [[1, 2, 3]], rejected: [[1, 2]], pad: 0, backward: false)
        XCTAssertEqual(result.chosen, [0])
        XCTAssertEqual(result.loss, Float(log(2.0)), accuracy: 1e-6)
        // A sequence's reward does not depend on what it is batched with.
        head(model).fill(0.1)
        let alone = try model.scores([[1, 2, 3]], pad: 0)
        let together = try model.scores([[1, 2, 3], [4, 5, 6, 1, 2]], pad: 0)
        XCTAssertEqual(alone[0], together[0], accuracy: 1e-5)
    }

    private func head(_ model: RewardModel) -> FloatBuffer { model.head }

    func testSaveLoadRoundTripAndRejectsAMismatchedHead() throws {
        let directory = TemporaryDirectory()
        let tokenizer = try chatTokenizer()
        var generator = SeededGenerator(seed: 2)
        let config = ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 1, heads: 2, width: 8)
        let model = try RewardModel(backbone: try GPT(config: config, generator: &generator),
                                    head: FloatBuffer(randomValues(9, seed: 3)))
        try model.save(tokenizer: tokenizer, to: directory.path)
        let (loaded, _) = try RewardModel.load(directory.path)
        XCTAssertEqual(loaded.head.array, model.head.array)
        XCTAssertEqual(try loaded.scores([[1, 2, 3]], pad: 0), try model.scores([[1, 2, 3]], pad: 0))
        // A head made for another width.
        try Safetensors.write([NamedTensor(name: "reward_head.weight", shape: [1, 4], values: [1, 2, 3, 4]),
                               NamedTensor(name: "reward_head.bias", shape: [1], values: [0])],
                              metadata: ["format": RewardModel.headFormat, "version": "1"], to: directory.file(RewardModel.headFile))
        XCTAssertThrowsError(try RewardModel.load(directory.path)) { error in
            XCTAssertTrue("\(error)".contains("head of width 4"), "\(error)")
        }
        XCTAssertThrowsError(try RewardModel.load(directory.file("missing")))
    }

    func testTrainingSeparatesChosenFromRejected() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        var generator = SeededGenerator(seed: 4)
        let backbone = try GPT(config: ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 128, layers: 1, heads: 2, width: 16),
                               generator: &generator)
        var data = InstructDataGenerator(config: InstructDataConfig())
        let pairs = data.pairs(count: 40, heldOut: false).filter { $0.failure == "refusal" || $0.failure == "rambling" }
        let testPairs = data.pairs(count: 30, heldOut: true)
        var config = RewardConfig()
        config.maxSteps = 40
        config.evalEvery = 20
        config.batchSize = 8
        config.learningRate = 1e-3
        let model = try RewardModel(backbone: backbone)
        let trainer = try RewardTrainer(model: model, encoder: encoder, written: pairs, validation: pairs, test: testPairs, config: config)
        let before = try trainer.evaluate()
        let result = try trainer.run()
        XCTAssertLessThan(result.best.loss, before.loss)
        XCTAssertGreaterThan(result.best.accuracy, 0.9)
        XCTAssertGreaterThan(result.best.margin, 0)
        XCTAssertEqual(result.curve.first { $0.step == result.bestStep }?.validation, result.best)
        // The test pairs are scored once, with the kept weights: the same numbers as scoring them afresh
        // (a second trainer whose validation pairs are the test pairs), and they choose nothing.
        let rescored = try RewardTrainer(model: model, encoder: encoder, written: pairs, validation: testPairs, test: testPairs, config: config)
        XCTAssertEqual(result.test, try rescored.evaluate())
        XCTAssertEqual(result.test.count, testPairs.count)
    }

    /// Batches mix the two pools by the configured share, not by their sizes: the sampled pool here holds every
    /// written pair flipped, eight times over, so drawing in proportion to size would learn the flipped order.
    func testSampledPairShareSetsWhichPoolTheBatchesComeFrom() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        var data = InstructDataGenerator(config: InstructDataConfig())
        let written = data.pairs(count: 40, heldOut: false).filter { $0.failure == "refusal" || $0.failure == "rambling" }
        let flipped = written.map { pair in
            var swapped = pair
            (swapped.chosen, swapped.rejected) = (pair.rejected, pair.chosen)
            return swapped
        }
        func writtenPairMetricsAfterTraining(share: Double) throws -> PairwiseMetrics {
            var generator = SeededGenerator(seed: 4)
            let backbone = try GPT(config: ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 128, layers: 1, heads: 2, width: 16),
                                   generator: &generator)
            var config = RewardConfig()
            config.maxSteps = 40
            config.evalEvery = 40
            config.batchSize = 8
            config.learningRate = 1e-3
            config.sampledPairShare = share
            let trainer = try RewardTrainer(model: try RewardModel(backbone: backbone), encoder: encoder, written: written,
                                            sampled: Array(repeating: flipped, count: 8).flatMap { $0 },
                                            validation: written, test: written, config: config)
            // The last evaluation (not the kept weights, which may be the untrained start) after 40 steps.
            return try XCTUnwrap(trainer.run().curve.last).validation
        }
        XCTAssertGreaterThan(try writtenPairMetricsAfterTraining(share: 0).accuracy, 0.9)
        XCTAssertGreaterThan(try writtenPairMetricsAfterTraining(share: 0.2).accuracy, 0.9)
        // Only flipped pairs: it learns the reverse order (a negative margin, not just the untrained head's ties).
        let flippedOnly = try writtenPairMetricsAfterTraining(share: 1)
        XCTAssertLessThan(flippedOnly.accuracy, 0.1)
        XCTAssertLessThan(flippedOnly.margin, -0.5)
        var invalid = RewardConfig()
        invalid.sampledPairShare = 1.5
        XCTAssertThrowsError(try invalid.validate())
    }
}

final class SFTTests: XCTestCase {
    func testExampleWeightsCoverExactlyTheResponseAndItsEnd() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let demo = Demonstration(family: "add", prompt: "What is 23 + 45?", response: "68")
        let example = try encoder.sftExample(demo)
        let response = tokenizer.encode("68").map(Int32.init)
        let trainedTargets = zip(example.targets, example.weights).filter { $0.1 == 1 }.map(\.0)
        XCTAssertEqual(trainedTargets, response + [Int32(encoder.template.endID)])
        XCTAssertEqual(Set(example.weights), [0, 1])
        // The weighted positions are the last ones before <|endoftext|>: the prompt is masked.
        let prompt = try encoder.prompt(demo.chatPrompt)
        XCTAssertEqual(Array(example.inputs.prefix(prompt.count)), prompt.map(Int32.init))
        XCTAssertTrue(example.weights.prefix(prompt.count - 1).allSatisfy { $0 == 0 })
    }

    /// A multi-turn record is the template's messages in order: the tokens decode to the rendered
    /// conversation, every reply (earlier ones included) and its <|end|> are trained, no user turn is.
    func testMultiTurnExampleRoundTripsThroughTheTemplateAndTrainsEveryReply() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let context = [ChatTurn(user: "What is 23 + 45?", assistant: "68"), ChatTurn(user: "Now add 10 to that.", assistant: "78")]
        let demo = Demonstration(family: "followup", context: context, prompt: "Which is larger, that or 90?", response: "90")
        let example = try encoder.sftExample(demo)
        let tokens = example.inputs.map(Int.init) + [Int(example.targets.last!)]
        let expected = "<|user|>What is 23 + 45?<|end|><|assistant|>68<|end|><|user|>Now add 10 to that.<|end|><|assistant|>78<|end|>"
            + "<|user|>Which is larger, that or 90?<|end|><|assistant|>90<|end|><|endoftext|>"
        XCTAssertEqual(try tokenizer.decode(tokens), expected)
        let trained = zip(example.targets, example.weights).filter { $0.1 == 1 }.map { Int($0.0) }
        let end = encoder.template.endID
        XCTAssertEqual(trained, try tokenizer.encode("68") + [end] + tokenizer.encode("78") + [end] + tokenizer.encode("90") + [end])
        // The prompt asks for the last reply after the whole conversation; the exchange closes it.
        let prompt = try encoder.prompt(demo.chatPrompt)
        XCTAssertEqual(try tokenizer.decode(prompt), String(expected.dropLast("90<|end|><|endoftext|>".count)))
        XCTAssertEqual(try encoder.exchange(prompt: demo.chatPrompt, response: "90"), try prompt + tokenizer.encode("90") + [end])
    }

    func testMaskedPromptTokensDoNotChangeTheLossOrItsGradient() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let model = try tinyGPT(vocabulary: tokenizer.vocabularySize, contextLength: 48, seed: 6)
        let demo = Demonstration(family: "add", prompt: "What is 23 + 45?", response: "68")
        var example = try encoder.sftExample(demo)
        var config = SFTConfig()
        config.pretrainingShare = 0
        let tuner = try SupervisedFineTuner(model: model, encoder: encoder, train: [demo], validation: [demo], config: config)
        let before = try tuner.loss(on: [example])
        // Change a prompt target (weight 0): the masked loss must not move.
        example.targets[1] = (example.targets[1] + 1) % Int32(tokenizer.vocabularySize)
        XCTAssertEqual(try tuner.loss(on: [example]), before, accuracy: 1e-6)
    }

    func testPretrainingWindowsTileTheTokensAndTrainEveryPosition() {
        let windows = SupervisedFineTuner.windows(of: (0..<10).map(Int32.init), contextLength: 2)
        XCTAssertEqual(windows.map(\.inputs), [[0, 1], [3, 4], [6, 7]])
        XCTAssertEqual(windows.map(\.targets), [[1, 2], [4, 5], [7, 8]])
        XCTAssertEqual(windows.map(\.weights), Array(repeating: [1, 1], count: 3))
        XCTAssertEqual(SupervisedFineTuner.windows(of: [5, 6], contextLength: 2), [])
        XCTAssertEqual(SupervisedFineTuner.windows(of: [5, 6, 7], contextLength: 2).map(\.targets), [[6, 7]], "exactly one span")
    }

    func testPretrainingShareIsValidatedAndNeedsText() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let model = try tinyGPT(vocabulary: tokenizer.vocabularySize, contextLength: 16, seed: 8)
        let demo = Demonstration(family: "add", prompt: "What is 2 + 3?", response: "5")
        var config = SFTConfig()
        config.batchSize = 4
        for bad in [-0.1, 1, .nan] {
            config.pretrainingShare = bad
            XCTAssertThrowsError(try config.validate()) { error in
                guard case AlignmentError.invalidArgument = error else { return XCTFail("\(error)") }
            }
        }
        config.pretrainingShare = 0.9  // rounds to 4 of 4 rows: one is left to the demonstrations
        XCTAssertEqual(config.pretrainingRowsPerBatch, 3)
        config.batchSize = 1
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(config.pretrainingRowsPerBatch, 0, "a batch of one never rehearses")
        config.batchSize = 4
        config.pretrainingShare = 0.5
        XCTAssertEqual(config.pretrainingRowsPerBatch, 2)
        XCTAssertThrowsError(try SupervisedFineTuner(model: model, encoder: encoder, train: [demo], validation: [demo],
                                                     pretrainingTokens: Array(repeating: 1, count: 16), config: config)) { error in
            XCTAssertTrue("\(error)".contains("fewer than one window of 17"), "\(error)")
        }
        config.pretrainingShare = 0
        XCTAssertNoThrow(try SupervisedFineTuner(model: model, encoder: encoder, train: [demo], validation: [demo], config: config))
    }

    /// The pretraining windows are trained on (their loss falls much faster than without them), while the
    /// loss a step returns is the demonstrations' alone (the two ask the same question, so the loss of the
    /// demonstration rows is about the same whichever are drawn).
    func testPretrainingRowsAreRehearsedButNotReported() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let demos = ["5", "7"].map { Demonstration(family: "add", prompt: "What is 2 + 3?", response: $0) }
        let text = tokenizer.encode(String(repeating: "The capital of Varnia is Korstead.\n", count: 40)).map(Int32.init)
        func run(share: Double, batch: Int) throws -> (windowLoss: (before: Double, after: Double), reported: Double, demoLoss: Double) {
            let model = try tinyGPT(vocabulary: tokenizer.vocabularySize, contextLength: 24, seed: 9)
            var config = SFTConfig()
            config.batchSize = batch
            config.learningRate = 3e-3
            config.pretrainingShare = share
            config.warmupSteps = 0
            config.maxSteps = 60
            let tuner = try SupervisedFineTuner(model: model, encoder: encoder, train: demos, validation: demos,
                                                pretrainingTokens: text, config: config)
            let windows = SupervisedFineTuner.windows(of: text, contextLength: 24)
            let before = try tuner.loss(on: windows)
            var reported: [Float] = []
            for index in 0..<60 { reported.append(try tuner.step(index)) }
            return ((before, try tuner.loss(on: windows)), Double(reported.suffix(10).reduce(0, +)) / 10, try tuner.loss(on: tuner.train))
        }
        let rehearsed = try run(share: 0.5, batch: 4)
        let demonstrationsOnly = try run(share: 0, batch: 4)
        XCTAssertEqual(rehearsed.windowLoss.before, demonstrationsOnly.windowLoss.before, accuracy: 1e-9)
        XCTAssertLessThan(rehearsed.windowLoss.after, demonstrationsOnly.windowLoss.after - 1)
        // 15 demonstrations to 1 window per batch: the demonstrations are learnt faster than the window, and
        // a mean over the whole batch (24 window tokens to about 30 demonstration tokens) would sit more than
        // 0.2 above the demonstrations' loss.
        let light = try run(share: 1.0 / 16, batch: 16)
        XCTAssertGreaterThan(light.windowLoss.after - light.demoLoss, 0.5, "\(light)")
        XCTAssertEqual(light.reported, light.demoLoss, accuracy: 0.1, "the steps report the demonstration rows only")
    }

    func testFineTuningLowersValidationLossAndKeepsTheBestWeights() throws {
        let tokenizer = try chatTokenizer()
        let encoder = try ChatEncoder(tokenizer: tokenizer)
        let model = try tinyGPT(vocabulary: tokenizer.vocabularySize, contextLength: 48, seed: 7)
        var data = InstructDataGenerator(config: InstructDataConfig())
        let train = data.demonstrations(count: 60, heldOut: false).filter { $0.family == "bracket" || $0.family == "capital" }
        var config = SFTConfig()
        config.maxSteps = 60
        config.evalEvery = 20
        config.learningRate = 3e-3
        config.pretrainingShare = 0
        let tuner = try SupervisedFineTuner(model: model, encoder: encoder, train: train, validation: train, config: config)
        let result = try tuner.run()
        XCTAssertLessThan(result.bestValidationLoss, result.curve[0].validationLoss - 1)
        XCTAssertEqual(try tuner.loss(on: tuner.validation), result.bestValidationLoss, accuracy: 1e-4, "best weights restored")
        XCTAssertThrowsError(try SupervisedFineTuner(model: model, encoder: encoder, train: [], validation: train, config: config))
    }
}
