import Alignment
import Pipeline
import XCTest

final class PipelineConfigTests: XCTestCase {
    /// Later reward rounds learn from the previous PPO policy's answers, so they need policy samples.
    func testRewardRoundsAreValidated() throws {
        var config = PipelineConfig.quick
        XCTAssertNoThrow(try config.validate())
        config.rewardRounds = 0
        XCTAssertThrowsError(try config.validate())
        config.rewardRounds = 2
        config.rewardPolicySamples = 0
        XCTAssertThrowsError(try config.validate()) { error in
            guard case AlignmentError.invalidArgument(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("policy samples"), message)
        }
        config.rewardRounds = 1
        XCTAssertNoThrow(try config.validate())
    }

    /// The presets are found by name, and an unknown name is nil.
    func testPresetsByName() {
        XCTAssertEqual(PipelineConfig.preset(named: "quick"), .quick)
        XCTAssertEqual(PipelineConfig.preset(named: "full"), PipelineConfig())
        XCTAssertNil(PipelineConfig.preset(named: "huge"))
    }
}
