import Alignment
import Core
import Pipeline
import Tasks
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

    /// The shipped report is what this version renders from the shipped report.json (as `minigpt pipeline
    /// --report-only` does), plots included, so the numbers in it can be traced to the run's results, and a change
    /// to the report's layout has to re-render the shipped report.
    func testShippedReportIsRenderedFromItsReportJSON() throws {
        let shipped = packageRoot() + "/Models/tiny-assistant/report"
        let directory = TemporaryDirectory()
        let run = directory.file("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: shipped + "/report.json", toPath: run + "/report.json")
        try PipelineReport.rewrite(directory: run)
        XCTAssertEqual(try String(contentsOfFile: run + "/report.md", encoding: .utf8),
                       try String(contentsOfFile: shipped + "/report.md", encoding: .utf8))
        let plots = try FileManager.default.contentsOfDirectory(atPath: shipped + "/plots").sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run + "/plots").sorted(), plots)
        for plot in plots {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/plots/" + plot)),
                           try Data(contentsOf: URL(fileURLWithPath: shipped + "/plots/" + plot)), plot)
        }
    }
}
