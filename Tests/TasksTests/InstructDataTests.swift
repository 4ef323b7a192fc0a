import Alignment
import Core
import Tasks
import Foundation
import TestSupport
import XCTest

final class GoldJudgeTests: XCTestCase {
    func testExactAnswersScoreOne() {
        let cases = [("What is 23 + 45?", "68"), ("Which is larger, 31 or 17?", "31"),
                     ("Reverse the letters: s t o n e", "e n o t s"), ("How many times does a appear in: b a n a n a", "3"),
                     ("Put the word stone in brackets.", "[stone]")]
        for (prompt, answer) in cases {
            XCTAssertEqual(GoldJudge.score(prompt: prompt, response: answer), 1, prompt)
            XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "  \(answer)\n"), 1, "surrounding whitespace is ignored")
        }
        let entry = InstructWorld.capitals[0]
        XCTAssertEqual(GoldJudge.score(prompt: "What is the capital of \(entry.country)?", response: entry.capital), 1)
    }

    func testFailureModesScoreBelowTheRightAnswerInTheDocumentedOrder() {
        let prompt = "What is 23 + 45?"
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "68."), 0.6, "right content, wrong form")
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "It is 68"), 0.4, "short reply containing the answer")
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "Let me think carefully. I believe it is 68. Not sure."), 0.2)
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "67"), 0.1, "well-formed but wrong")
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "I am sorry, but I cannot help with that."), 0)
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: ""), 0)
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "68 68 68 68"), 0.1, "repetition is capped")
        XCTAssertEqual(GoldJudge.score(prompt: prompt, response: "168"), 0.1, "68 inside 168 is not the answer")
        XCTAssertEqual(GoldJudge.score(prompt: "Reverse the letters: s t o n e", response: "enots"), 0.6)
        XCTAssertEqual(GoldJudge.score(prompt: "Reverse the letters: s t o n e", response: "s t o n e"), 0.1)
        XCTAssertEqual(GoldJudge.score(prompt: "Put the word stone in brackets.", response: "(stone)"), 0.6)
        XCTAssertEqual(GoldJudge.score(prompt: "Reverse the letters: g r a s s", response: "s s a r g"), 1,
                       "repeated single letters are not repetition")
    }

    func testPromptsOffTheTemplatesScoreZero() {
        XCTAssertEqual(GoldJudge.score(prompt: "Tell me a story.", response: "Once upon a time"), 0)
        XCTAssertEqual(GoldJudge.score(prompt: "What is the capital of Atlantis?", response: "Poseidonia"), 0)
        XCTAssertNil(InstructWorld.parse(prompt: "What is 2 + ?"))
    }

    func testEveryScoreIsInTheUnitInterval() {
        var generator = InstructDataGenerator(config: InstructDataConfig())
        for pair in generator.pairs(count: 300, heldOut: false) {
            for response in [pair.chosen, pair.rejected] {
                let score = GoldJudge.score(prompt: pair.prompt, response: response)
                XCTAssert((0...1).contains(score))
            }
        }
    }
}

final class InstructDataTests: XCTestCase {
    func testSameSeedWritesTheSameBytesAndADifferentSeedDoesNot() throws {
        let a = TemporaryDirectory(), b = TemporaryDirectory(), c = TemporaryDirectory()
        var config = InstructDataConfig()
        config.sftTrain = 50; config.pairsTrain = 50; config.pairsValidation = 20; config.ppoPrompts = 20
        var first = InstructDataGenerator(config: config), second = InstructDataGenerator(config: config)
        try first.write(to: a.path)
        try second.write(to: b.path)
        config.seed = 2
        var third = InstructDataGenerator(config: config)
        try third.write(to: c.path)
        for name in [InstructFiles.pretrainText, InstructFiles.sftTrain, InstructFiles.pairsTrain, InstructFiles.heldOutPrompts,
                     InstructFiles.pairsTest] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a.file(name))), try Data(contentsOf: URL(fileURLWithPath: b.file(name))), name)
        }
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: a.file(InstructFiles.sftTrain))),
                          try Data(contentsOf: URL(fileURLWithPath: c.file(InstructFiles.sftTrain))))
    }

    func testHeldOutQuestionsNeverOccurInTrainingFiles() {
        var generator = InstructDataGenerator(config: InstructDataConfig())
        let training = Set(generator.demonstrations(count: 800, heldOut: false).map(\.prompt)
                           + generator.pairs(count: 800, heldOut: false).map(\.prompt)
                           + generator.prompts(count: 300, heldOut: false).map(\.prompt))
        let heldOut = generator.heldOutPrompts(perFamily: 20).map(\.prompt) + generator.demonstrations(count: 200, heldOut: true).map(\.prompt)
                      + generator.pairs(count: 200, heldOut: true).map(\.prompt)
        XCTAssertTrue(training.isDisjoint(with: heldOut))
        // Values, not just questions: held-out words and countries appear in no training prompt.
        let heldOutWords = InstructWorld.words.indices.filter { InstructWorld.isHeldOut(word: $0) }.map { InstructWorld.words[$0] }
        let heldOutCountries = InstructWorld.capitals.indices.filter { InstructWorld.isHeldOut(country: $0) }
            .map { InstructWorld.capitals[$0].country }
        for prompt in training {
            for word in heldOutWords { XCTAssertFalse(prompt.hasSuffix(" \(word) in brackets.") || prompt.hasSuffix(": " + InstructWorld.spaced(word))) }
            for country in heldOutCountries { XCTAssertFalse(prompt.contains(country)) }
        }
        // Every family appears in the held-out prompts.
        XCTAssertEqual(Set(generator.heldOutPrompts(perFamily: 5).map(\.family)), Set(TaskFamily.allCases.map(\.rawValue)))
        // About half the PPO prompts of the letter families use random letter strings, never a word of the world.
        let letterPrompts = generator.prompts(count: 600, heldOut: false).filter { ["reverse", "count", "bracket"].contains($0.family) }
        let strings = letterPrompts.filter { record in
            !InstructWorld.words.contains { record.prompt.hasSuffix(" \($0) in brackets.") || record.prompt.hasSuffix(": " + InstructWorld.spaced($0)) }
        }
        XCTAssertEqual(Double(strings.count) / Double(letterPrompts.count), 0.5, accuracy: 0.1)
        XCTAssertTrue(strings.allSatisfy { InstructWorld.parse(prompt: $0.prompt) != nil })
    }

    /// A wrong capital or bracketed word is drawn from the pair's own split. Drawn from every value, held-out
    /// values turned up in training pairs only as rejected answers, and the reward model learnt to rank them
    /// low: that bias, not a failure to check the answer, was most of its error on held-out capital pairs.
    func testWrongValuesOfPairsComeFromThePairsOwnSplit() {
        var generator = InstructDataGenerator(config: InstructDataConfig())
        let capitals = InstructWorld.capitals.indices.map { (InstructWorld.capitals[$0].capital, InstructWorld.isHeldOut(country: $0)) }
        let words = InstructWorld.words.indices.map { ("[\(InstructWorld.words[$0])]", InstructWorld.isHeldOut(word: $0)) }
        let splitOfValue = Dictionary(uniqueKeysWithValues: capitals + words)
        for heldOut in [false, true] {
            let wrongValues = generator.pairs(count: 1500, heldOut: heldOut)
                .filter { $0.failure == "wrong" && ["capital", "bracket"].contains($0.family) }.map(\.rejected)
            XCTAssertGreaterThan(wrongValues.count, 100)
            for value in wrongValues { XCTAssertEqual(splitOfValue[value], heldOut, "\(value) in a pair of the other split") }
        }
    }

    func testPretrainingTextPractisesSkillsOnlyOnTrainingValues() {
        var generator = InstructDataGenerator(config: InstructDataConfig())
        let text = "\n" + generator.pretrainingText()
        let world = InstructWorld.self
        // The skills are there, on training values...
        XCTAssertTrue(text.contains("The word stone reversed is e n o t s."))
        XCTAssertTrue(text.contains("stone in brackets is [stone]."))
        XCTAssertTrue(text.contains(" the letter "))
        // ...but no held-out word is reversed, bracketed or counted, and no held-out pair is summed or compared.
        for index in world.words.indices where world.isHeldOut(word: index) {
            let word = world.words[index]
            XCTAssertTrue(text.contains("\(word) is spelled \(world.spaced(word)).")) // a world fact, allowed
            XCTAssertFalse(text.contains("[\(word)]"), word)
            XCTAssertFalse(text.contains("word \(word) reversed"), word)
            XCTAssertFalse(text.contains(" is " + world.spaced(String(word.reversed())) + "."), word)
            XCTAssertFalse(text.contains("In \(world.spaced(word)) the letter"), word)
        }
        // Every capital, held-out countries' too, is stated quoted: the form whose tokens a reply uses.
        for entry in world.capitals { XCTAssertTrue(text.contains("The capital of \(entry.country) is \"\(entry.capital)\"."), entry.country) }
        for a in 0..<world.numberLimit {
            for b in 0..<world.numberLimit where world.isHeldOut(a, b) {
                XCTAssertFalse(text.contains("\n\(a) plus \(b) is "), "\(a) + \(b)")
                XCTAssertFalse(text.contains("Of \(a) and \(b),"), "\(a) vs \(b)")
            }
        }
    }

    func testPairsAreOrderedByTheJudgeAndCoverEveryFailureMode() {
        var generator = InstructDataGenerator(config: InstructDataConfig())
        let pairs = generator.pairs(count: 400, heldOut: false)
        for pair in pairs {
            XCTAssertGreaterThan(GoldJudge.score(prompt: pair.prompt, response: pair.chosen),
                                 GoldJudge.score(prompt: pair.prompt, response: pair.rejected))
            XCTAssertEqual(pair.chosenScore, GoldJudge.score(prompt: pair.prompt, response: pair.chosen))
        }
        XCTAssertEqual(Set(pairs.map(\.failure)), ["wrong", "rambling", "format", "refusal", "repetition"])
        XCTAssertGreaterThanOrEqual(TaskFamily.allCases.count, 5)
    }

    /// Demonstrations are the right answer, bare or (the demonstrators' habit) in "It is ... .", which the
    /// judge scores 0.4 in every family; the share of sentences is the configured one, in both splits, and
    /// drawing it leaves the main random stream alone: the pairs drawn next are those of a share of 0 (so are
    /// the prompts and pretraining text, which come from the same stream).
    func testDemonstrationsAreRightAndTheConfiguredShareAreSentences() {
        XCTAssertEqual(GoldJudge.score(prompt: "What is 38 + 27?", response: "It is 65."), 0.4)
        XCTAssertEqual(GoldJudge.score(prompt: "Reverse the letters: w i n t e r", response: "It is r e t n i w."), 0.4)
        for (share, heldOut) in [(0.0, false), (0.3, false), (0.3, true)] {
            var config = InstructDataConfig()
            config.sentenceDemonstrationShare = share
            var generator = InstructDataGenerator(config: config)
            let demos = generator.demonstrations(count: 2000, heldOut: heldOut)
            var sentences = 0
            for demo in demos {
                let task = InstructWorld.parse(prompt: demo.prompt)!
                if demo.response == InstructDataGenerator.sentence(task.answer) {
                    sentences += 1
                    XCTAssertEqual(GoldJudge.score(task: task, response: demo.response), 0.4, demo.response)
                } else {
                    XCTAssertEqual(demo.response, task.answer)
                }
            }
            // 2000 draws: the standard deviation of the share is at most 0.011.
            XCTAssertEqual(Double(sentences) / 2000, share, accuracy: 0.04)
            XCTAssertEqual(generator.pairs(count: 50, heldOut: false), Self.pairsAfterBareDemonstrations(heldOut: heldOut))
        }
    }

    /// The share of count questions about an absent letter is the configured one, in the tasks and in the
    /// pretraining text's counting sentences; every other question asks about a letter the word spells.
    func testCountQuestionsAskAboutAnAbsentLetterAtTheConfiguredShare() {
        for share in [0.0, 0.5, 1.0] {
            var config = InstructDataConfig()
            config.absentLetterShare = share
            var generator = InstructDataGenerator(config: config)
            let answers = (0..<2000).map { index in Int(generator.task(.count, heldOut: index % 2 == 0).answer)! }
            // 2000 draws: the standard deviation of the share is at most 0.011.
            XCTAssertEqual(Double(answers.filter { $0 == 0 }.count) / 2000, share, accuracy: 0.04)
            // At the ends of the range the share is exact: every question asks about a spelled letter, or none does.
            if share == 0 { XCTAssertTrue(!answers.contains(0) && answers.filter { $0 >= 2 }.count > 20) }
            if share == 1 { XCTAssertTrue(answers.allSatisfy { $0 == 0 }) }

            let counting = generator.pretrainingText().split(separator: "\n").filter { $0.contains(" the letter ") }
            let absent = counting.filter { $0.hasSuffix(" appears 0 times.") }
            XCTAssertEqual(Double(absent.count) / Double(counting.count), share, accuracy: 0.04)
        }
    }

    private static func pairsAfterBareDemonstrations(heldOut: Bool) -> [PreferencePair] {
        var config = InstructDataConfig()
        config.sentenceDemonstrationShare = 0
        var generator = InstructDataGenerator(config: config)
        _ = generator.demonstrations(count: 2000, heldOut: heldOut)
        return generator.pairs(count: 50, heldOut: false)
    }

    func testMalformedAndEmptyJSONLAreReportedByLine() throws {
        let directory = TemporaryDirectory()
        let good = #"{"family":"add","prompt":"What is 1 + 2?","response":"3"}"#
        let path = directory.write(good + "\n\n" + #"{"family":"add","prompt":"x"}"# + "\n", to: "a.jsonl")
        XCTAssertThrowsError(try JSONL.read(Demonstration.self, from: path)) { error in
            XCTAssertEqual("\(error)", "\(path) line 3: missing field \"response\"")
        }
        let broken = directory.write(good + "\n{not json\n", to: "b.jsonl")
        XCTAssertThrowsError(try JSONL.read(Demonstration.self, from: broken)) { error in
            XCTAssertEqual("\(error)", "\(broken) line 2: not a JSON object")
        }
        let empty = directory.write("\n", to: "c.jsonl")
        XCTAssertThrowsError(try JSONL.read(Demonstration.self, from: empty)) { error in
            XCTAssertEqual(error as? JSONLError, .empty(path: empty))
        }
        XCTAssertEqual(try JSONL.read(Demonstration.self, from: directory.write(good + "\n", to: "d.jsonl")).count, 1)
    }

    func testTheShippedDataSetParsesAndIsJudgedConsistently() throws {
        let directory = packageRoot() + "/Corpora/instruct"
        let demos = try JSONL.read(Demonstration.self, from: directory + "/" + InstructFiles.sftTrain)
        XCTAssertTrue(demos.allSatisfy { demo in
            InstructWorld.parse(prompt: demo.prompt).map { [$0.answer, InstructDataGenerator.sentence($0.answer)].contains(demo.response) } ?? false
        })
        var keys: [String: [[String]]] = [:]
        for name in [InstructFiles.pairsValidation, InstructFiles.pairsTest] {
            let pairs = try JSONL.read(PreferencePair.self, from: directory + "/" + name)
            XCTAssertTrue(pairs.allSatisfy {
                $0.chosenScore > $0.rejectedScore && GoldJudge.score(prompt: $0.prompt, response: $0.chosen) == $0.chosenScore
            })
            keys[name] = pairs.map { [$0.prompt, $0.chosen, $0.rejected] }
        }
        // The test pairs are distinct and none is also a validation pair (those choose the reward model's checkpoint).
        let test = keys[InstructFiles.pairsTest]!
        XCTAssertEqual(test.count, InstructDataConfig().pairsTest)
        XCTAssertEqual(Set(test).count, test.count)
        XCTAssertTrue(Set(test).isDisjoint(with: keys[InstructFiles.pairsValidation]!))
        XCTAssertFalse(try JSONL.read(PromptRecord.self, from: directory + "/" + InstructFiles.heldOutPrompts).isEmpty)
    }

    /// The card and docs say Corpora/instruct is `minigpt data instruct --seed 1`: every file, byte for byte.
    func testTheShippedDataSetIsWhatSeedOneGenerates() throws {
        let fresh = TemporaryDirectory()
        var generator = InstructDataGenerator(config: InstructDataConfig())
        try generator.write(to: fresh.path)
        let names = [InstructFiles.pretrainText, InstructFiles.sftTrain, InstructFiles.sftValidation, InstructFiles.pairsTrain,
                     InstructFiles.pairsValidation, InstructFiles.ppoPrompts, InstructFiles.heldOutPrompts, InstructFiles.pairsTest]
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: fresh.path).sorted(), names.sorted())
        for name in names {
            let shipped = try Data(contentsOf: URL(fileURLWithPath: packageRoot() + "/Corpora/instruct/" + name))
            XCTAssertEqual(shipped, try Data(contentsOf: URL(fileURLWithPath: fresh.file(name))), name)
        }
    }
}
