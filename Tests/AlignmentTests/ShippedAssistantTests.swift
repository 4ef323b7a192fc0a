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
        // The card's row for the shipped (F16) weights, read by the table's column names: "gold x100" and
        // "exact <family>".
        let card = try String(contentsOfFile: directory + "/README.md", encoding: .utf8)
        let lines = card.split(separator: "\n")
        func cells(_ line: Substring) -> [String] { line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        let header = cells(try XCTUnwrap(lines.first { $0.hasPrefix("| stage |") }))
        let row = cells(try XCTUnwrap(lines.first { $0.hasPrefix("| shipped") }))
        XCTAssertEqual(row.count, header.count)
        func cell(_ column: String) throws -> Double {
            try XCTUnwrap(Double(row[try XCTUnwrap(header.firstIndex(of: column), column)]), column)
        }
        XCTAssertEqual(try cell("gold x100"), report.meanScore * 100, accuracy: 0.051)
        for family in TaskFamily.allCases {
            XCTAssertEqual(try cell("exact \(family.rawValue)"), report.exactMatch[family.rawValue] ?? 0, accuracy: 0.0051, family.rawValue)
        }
        // A fresh SFT-less model would score near 0; the assistant answers in the right form.
        XCTAssertGreaterThan(report.meanScore, 0.3)
    }
}
