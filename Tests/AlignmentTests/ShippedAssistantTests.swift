import Alignment
import Foundation
import Model
import TestSupport
import XCTest

/// The assistant in Models/ is the PPO model its card describes: its greedy answers to the shipped held-out
/// prompts get the gold score and the exact matches of the card's table.
final class ShippedAssistantTests: XCTestCase {
    func testShippedAssistantScoresWhatItsCardSays() throws {
        let root = packageRoot()
        let directory = root + "/Models/tiny-assistant"
        let (model, tokenizer) = try StageDirectory.load(directory)
        let prompts = try JSONL.read(PromptRecord.self, from: root + "/Corpora/instruct/" + InstructFiles.heldOutPrompts)
        let report = try GoldEvaluation.evaluate(model: model, encoder: try ChatEncoder(tokenizer: tokenizer), prompts: prompts, maxNewTokens: 24)
        // The card's row for the shipped (F16) weights: "| shipped ... | <gold x100> | ..." with exact matches in TaskFamily order.
        let card = try String(contentsOfFile: directory + "/README.md", encoding: .utf8)
        let row = try XCTUnwrap(card.split(separator: "\n").first { $0.hasPrefix("| shipped") })
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(try XCTUnwrap(Double(cells[1])), report.meanScore * 100, accuracy: 0.051)
        for (offset, family) in TaskFamily.allCases.enumerated() {
            XCTAssertEqual(try XCTUnwrap(Double(cells[4 + offset])), report.exactMatch[family.rawValue] ?? 0, accuracy: 0.0051, family.rawValue)
        }
        // A fresh SFT-less model would score near 0; the assistant answers in the right form.
        XCTAssertGreaterThan(report.meanScore, 0.3)
    }
}
