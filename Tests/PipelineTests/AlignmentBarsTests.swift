import Alignment
import Pipeline
import Tasks
import Foundation
import TestSupport
import XCTest

/// The bars judged from the shipped run's report.json (run D), whose numbers the model card states: base 1.4,
/// SFT 61.8, PPO 66.9 held-out gold at a held-out KL of 0.298, reward model 0.900 on 1000 test pairs, 863.4 s;
/// and each bar moved across its threshold by changing one number.
final class AlignmentBarsTests: XCTestCase {
    private func shipped() throws -> PipelineResult {
        try PipelineReport.read(directory: packageRoot() + "/Models/tiny-assistant/report")
    }

    private func bar(_ name: String, _ result: PipelineResult, file: StaticString = #filePath, line: UInt = #line) throws -> AlignmentBar {
        try XCTUnwrap(AlignmentBars.evaluate(result).first { $0.name == name }, name, file: file, line: line)
    }

    private func setStage(_ name: String, in result: inout PipelineResult, _ change: (inout StageSummary) -> Void) throws {
        let index = try XCTUnwrap(result.stages.firstIndex { $0.name == name }, name)
        change(&result.stages[index])
    }

    func testShippedRunMeetsEveryBarButPPOs() throws {
        let bars = AlignmentBars.evaluate(try shipped())
        XCTAssertEqual(bars.map(\.name), ["reward model", "SFT over base", "PPO over SFT", "pipeline time"])
        XCTAssertEqual(bars.map(\.measured), ["0.900 on 1000 test pairs", "+60.4", "+5.1, KL 0.298", "14.4 minutes"])
        XCTAssertEqual(bars.map(\.met), [true, true, false, true])
        let table = AlignmentBars.table(bars)
        XCTAssertTrue(table.contains("| PPO over SFT | at least +10 gold points, held-out KL to SFT under 0.50 | +5.1, KL 0.298 | **no** |"), table)
    }

    func testEachBarTurnsAtItsThreshold() throws {
        var result = try shipped()
        let sftGold = try XCTUnwrap(result.stages.first { $0.name == "SFT" }).goldScore
        let baseGold = try XCTUnwrap(result.stages.first { $0.name == "base" }).goldScore

        // PPO: +10.1 points under the KL target passes; the same gain at a KL equal to the target does not.
        try setStage("PPO", in: &result) { $0.goldScore = sftGold + 0.101 }
        XCTAssertTrue(try bar("PPO over SFT", result).met)
        XCTAssertNil(AlignmentBars.ppoShortfall(result))
        let target = result.config.ppo.klTarget
        try setStage("PPO", in: &result) { $0.klToSFT = target }
        XCTAssertFalse(try bar("PPO over SFT", result).met)
        try setStage("PPO", in: &result) { $0.klToSFT = 0.3; $0.goldScore = sftGold + 0.099 }
        XCTAssertFalse(try bar("PPO over SFT", result).met)

        result.reward.test.accuracy = 0.899
        XCTAssertFalse(try bar("reward model", result).met)
        result.reward.test.accuracy = 0.9
        XCTAssertTrue(try bar("reward model", result).met)

        try setStage("SFT", in: &result) { $0.goldScore = baseGold + 0.199 }
        XCTAssertFalse(try bar("SFT over base", result).met)

        let seconds = result.timings.reduce(0) { $0 + $1.seconds }
        result.timings[0].seconds += 1800 - seconds + 1
        XCTAssertFalse(try bar("pipeline time", result).met)
        XCTAssertEqual(try bar("pipeline time", result).measured, "30.0 minutes")

        // A run without a PPO stage cannot meet the PPO bar.
        result.stages.removeAll { $0.name == "PPO" }
        XCTAssertEqual(try bar("PPO over SFT", result).measured, "-")
        XCTAssertFalse(try bar("PPO over SFT", result).met)
    }

    /// The shortfall is read off the run: the docs list run D's held-out gold during PPO as 68.2, 68.8, 69.4, 69.5,
    /// 66.9 at iterations 10-50, its rollouts' KL over the 0.5 target in 39 of 50 iterations, and the gold-judge
    /// twin at 70.0 (+8.2 over SFT's 61.8).
    func testShortfallStatesThisRunsEvidence() throws {
        var result = try shipped()
        let text = try XCTUnwrap(AlignmentBars.ppoShortfall(result))
        for expected in ["PPO gains +5.1 held-out gold points over SFT (bar +10) at a held-out KL of 0.298 (target 0.50).",
                         "gold judge itself as its reward gains +8.2 (KL 0.523), also under the bar",
                         "went from 61.8 to a peak of 69.5 at iteration 40 and ended at 66.9",
                         "over the target in 39 of 50 iterations, and 0.438 at the last",
                         "reward model's pick scores 0.504, a random sample 0.392, the best 0.743"] {
            XCTAssertTrue(text.contains(expected), "missing \"\(expected)\" in\n\(text)")
        }
        XCTAssertTrue(text.contains("reward-model score rose"), text)

        // A perfect reward clearing the bar puts the blame on the reward model; a flat reward curve is called flat.
        let sftGold = try XCTUnwrap(result.stages.first { $0.name == "SFT" }).goldScore
        try setStage(AlignmentPipeline.goldRewardStage, in: &result) { $0.goldScore = sftGold + 0.12 }
        for index in result.ppo.logs.indices { result.ppo.logs[index].rewardScore = 4 + Double(index % 2) * 0.05 }
        let changed = try XCTUnwrap(AlignmentBars.ppoShortfall(result))
        XCTAssertTrue(changed.contains("gains +12.0 (KL 0.523): a perfect reward gets that far"), changed)
        XCTAssertTrue(changed.contains("what the reward model gets wrong holds PPO back (test accuracy 0.900)"), changed)
        XCTAssertTrue(changed.contains("reward-model score stayed flat, from 4.025"), changed)
    }
}
