import Plotting
import Alignment
import Pipeline
import Tasks
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import XCTest

extension XMLElement {
    /// An attribute's text: FoundationXML's `attribute(forName:)` returned nil for these elements (default SVG namespace) on Linux.
    fileprivate func value(of name: String) -> String? { attributes?.first { $0.name == name }?.stringValue }
}

final class SVGLinePlotReportTests: XCTestCase {
    /// Every element with this local name (the SVG namespace is the default one), in document order.
    private func elements(_ name: String, in svg: String, file: StaticString = #filePath, line: UInt = #line) throws -> [XMLElement] {
        let document = try XMLDocument(xmlString: svg, options: [])
        var found: [XMLElement] = []
        func walk(_ node: XMLNode) {
            if let element = node as? XMLElement, element.localName == name { found.append(element) }
            node.children?.forEach(walk)
        }
        walk(try XCTUnwrap(document.rootElement(), "no root element", file: file, line: line))
        return found
    }

    private func texts(in svg: String) throws -> [String] { try elements("text", in: svg).compactMap(\.stringValue) }

    func testDocumentIsWellFormedAndKeepsTextWithMarkupCharacters() throws {
        let title = #"loss <train> & "val" 'x'"#
        let plot = SVGLinePlot(title: title, xLabel: "step <n>", yLabel: "a & b",
                               series: [PlotSeries(name: #"PPO "clip" <0.2>"#, ys: [3, 1, 2])])
        let svg = plot.render()
        XCTAssertFalse(svg.contains("<train>"), "raw markup must not reach the document")
        let strings = try texts(in: svg)  // throws if the document is not well-formed
        for expected in [title, "step <n>", "a & b", #"PPO "clip" <0.2>"#] {
            XCTAssertTrue(strings.contains(expected), "missing text \(expected) in \(strings)")
        }
        XCTAssertEqual(try elements("svg", in: svg).first?.value(of: "width"), "640.00")
    }

    /// Plot area: x 70...510, y 40...310 (640 x 360 minus the margins). x 0...4 gives ticks 0, 1, ..., 4 and
    /// y 0...1 gives 0, 0.2, ..., 1.0, so the axes end exactly at the data's extremes:
    /// (0, 0) -> (70, 310), (2, 0.5) -> (70 + 440/2, 310 - 270/2) = (290, 175), (4, 1) -> (510, 40).
    /// The NaN and infinite points are skipped and do not stretch the axes.
    func testDataToPixelMappingPutsTheExtremesOnThePlotCornersAndSkipsNonFinitePoints() throws {
        let points: [(x: Double, y: Double)] = [(0, 0), (1, .nan), (2, 0.5), (3, .infinity), (.infinity, 7), (4, 1)]
        let svg = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", series: [PlotSeries(name: "s", points: points)]).render()
        let lines = try elements("polyline", in: svg)
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines.first?.value(of: "points"), "70.00,310.00 290.00,175.00 510.00,40.00")
        XCTAssertEqual(lines.first?.value(of: "stroke"), SVGLinePlot.palette[0])
        let labels = try texts(in: svg)
        for tick in ["0", "1", "4", "0.0", "0.2", "1.0"] { XCTAssertTrue(labels.contains(tick), "tick label \(tick) in \(labels)") }
        XCTAssertFalse(labels.contains("5"), "the infinite x must not extend the axis")
    }

    /// One point at (2, 4): x pads to 1.8...2.2 (ticks by 0.1), y pads to 3.6...4.4 (ticks by 0.2); the point
    /// sits in the middle of the plot area: (290, 175).
    func testASinglePointIsADotAndEqualValuesArePadded() throws {
        let svg = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y",
                              series: [PlotSeries(name: "one", points: [(2, 4), (5, .nan)])]).render()
        XCTAssertTrue(try elements("polyline", in: svg).isEmpty)
        let dot = try XCTUnwrap(try elements("circle", in: svg).first)
        XCTAssertEqual(dot.value(of: "cx"), "290.00")
        XCTAssertEqual(dot.value(of: "cy"), "175.00")
        let labels = try texts(in: svg)
        for tick in ["1.8", "2.0", "2.2", "3.6", "4.0", "4.4"] { XCTAssertTrue(labels.contains(tick), "tick label \(tick) in \(labels)") }
    }

    func testNoFinitePointsRendersAnEmptyFrameSayingNoData() throws {
        for series in [[], [PlotSeries(name: "nan", points: [(0, .nan), (.infinity, 1)])], [PlotSeries(name: "empty", ys: [])]] {
            let svg = SVGLinePlot(title: "empty", xLabel: "x", yLabel: "y", series: series).render()
            XCTAssertTrue(try texts(in: svg).contains("no data"))
            XCTAssertTrue(try elements("polyline", in: svg).isEmpty)
            XCTAssertTrue(try elements("circle", in: svg).isEmpty)
        }
    }

    /// Finite data whose span overflows a Double still renders (the axis is just the data's ends).
    func testAnOverflowingRangeStillRendersAWellFormedDocument() throws {
        let svg = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y",
                              series: [PlotSeries(name: "wide", points: [(0, -1e308), (1, 1e308)])]).render()
        XCTAssertEqual(try elements("polyline", in: svg).first?.value(of: "points"), "70.00,310.00 510.00,40.00")
    }

    func testEachSeriesGetsItsOwnColourAndALegendEntry() throws {
        let series = (0..<3).map { PlotSeries(name: "run \($0)", ys: [0, Double($0)]) }
        let svg = SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", series: series).render()
        let strokes = try elements("polyline", in: svg).compactMap { $0.value(of: "stroke") }
        XCTAssertEqual(strokes, Array(SVGLinePlot.palette.prefix(3)))
        let labels = try texts(in: svg)
        for name in ["run 0", "run 1", "run 2"] { XCTAssertTrue(labels.contains(name)) }
        XCTAssertEqual(svg, SVGLinePlot(title: "t", xLabel: "x", yLabel: "y", series: series).render(), "deterministic")
    }

    /// Step = span / 4 rounded to 1, 2 or 5 x 10^k; ticks cover the data with multiples of the step.
    func testNiceTicksOnHandWorkedRanges() {
        // 0.93 / 4 = 0.2325 -> 0.2; 0 ... ceil(4.65) * 0.2
        assertClose(SVGLinePlot.niceTicks(0, 0.93), [0, 0.2, 0.4, 0.6, 0.8, 1.0], absolute: 1e-12, relative: 0)
        // 0.7 / 4 = 0.175 -> 0.2; floor(16) * 0.2 ... ceil(19.5) * 0.2
        assertClose(SVGLinePlot.niceTicks(3.2, 3.9), [3.2, 3.4, 3.6, 3.8, 4.0], absolute: 1e-12, relative: 0)
        // 200 / 4 = 50 -> 5 x 10
        assertClose(SVGLinePlot.niceTicks(0, 200), [0, 50, 100, 150, 200], absolute: 1e-12, relative: 0)
        // 10 / 4 = 2.5 -> 2; floor(-1.5) = -2 ... ceil(3.5) = 4
        assertClose(SVGLinePlot.niceTicks(-3, 7), [-4, -2, 0, 2, 4, 6, 8], absolute: 1e-12, relative: 0)
        // 0.8 / 4 = 0.2 -> mantissa 2 -> 0.2 (arguments in either order)
        assertClose(SVGLinePlot.niceTicks(1, 0.2), [0.2, 0.4, 0.6, 0.8, 1.0], absolute: 1e-12, relative: 0)
        // zero width: 5 +- 0.5 -> step 0.25 -> 0.2; 0 +- 1 -> step 0.5
        assertClose(SVGLinePlot.niceTicks(5, 5), [4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6], absolute: 1e-12, relative: 0)
        assertClose(SVGLinePlot.niceTicks(0, 0), [-1, -0.5, 0, 0.5, 1], absolute: 1e-12, relative: 0)
    }
}

final class AlignmentReportTests: XCTestCase {
    private func sample(_ family: TaskFamily, _ prompt: String, _ response: String, _ score: Double) -> GoldReport.Sample {
        GoldReport.Sample(family: family.rawValue, prompt: prompt, response: response, score: score)
    }

    func testComparisonTableExactText() {
        let base = StageSummary(name: "base", goldScore: 0.1234,
                                exactMatch: ["add": 0.5, "larger": 1, "reverse": 0, "count": 0.25, "capital": 0.333], samples: [])
        let sft = StageSummary(name: "SFT", goldScore: 0.876, sampledGoldScore: 0.5125, rewardScore: 1.23456, klToSFT: 0,
                               exactMatch: ["bracket": 1, "capital": 0.6, "count": 0.75, "reverse": 0.9, "larger": 1, "add": 1],
                               samples: [])
        XCTAssertEqual(AlignmentReport.comparisonTable([base, sft]), """
        | stage | gold x100 | gold sampled x100 | RM score | KL to SFT | exact add | exact larger | exact reverse | exact count | exact capital | exact bracket |
        | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
        | base | 12.3 | - | - | - | 0.50 | 1.00 | 0.00 | 0.25 | 0.33 | - |
        | SFT | 87.6 | 51.2 | 1.235 | 0.000 | 1.00 | 1.00 | 0.90 | 0.75 | 0.60 | 1.00 |

        """)
    }

    /// Unescaped pipes in a row: one more than the number of columns.
    private func columnBreaks(_ row: Substring) -> Int {
        var count = 0, escaped = false
        for character in row {
            if character == "|" && !escaped { count += 1 }
            escaped = character == "\\" && !escaped
        }
        return count
    }

    func testRepliesWithPipesNewlinesAndBackticksStayInOneRow() {
        let base = StageSummary(name: "base", goldScore: 0, exactMatch: [:], samples: [
            sample(.add, "What is 1 + 2?", "a | b\nc\r\nd `x`", 0),
            sample(.larger, "Which is larger, 3 or 4?", "", 0),
            sample(.capital, "What is the capital of Varnia?", "Tolm", 1),
        ])
        // SFT's samples are in another order and miss one prompt: matched by prompt text.
        let sft = StageSummary(name: "SFT", goldScore: 0, exactMatch: [:], samples: [
            sample(.larger, "Which is larger, 3 or 4?", "4", 1),
            sample(.add, "What is 1 + 2?", "3", 1),
        ])
        let table = AlignmentReport.sampleTable([base, sft], count: 2)
        let rows = table.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(rows.count, 4, "header, separator and exactly two prompts:\n\(table)")
        for row in rows { XCTAssertEqual(columnBreaks(row), 8, "7 columns in \(row)") }
        XCTAssertEqual(rows[2], #"| 1 | add | What is 1 + 2? | a \| b ⏎ c ⏎ d \`x\` | 0.00 | 3 | 1.00 |"#)
        XCTAssertEqual(rows[3], "| 2 | larger | Which is larger, 3 or 4? | (empty) | 0.00 | 4 | 1.00 |")
        let third = AlignmentReport.sampleTable([base, sft], count: 5).split(separator: "\n").last
        XCTAssertEqual(third, "| 3 | capital | What is the capital of Varnia? | Tolm | 1.00 | - | - |")
        XCTAssertEqual(AlignmentReport.cell(#"<b>\|"#), #"\<b>\\\|"#)
    }

    func testStageSummaryRoundTripsThroughJSON() throws {
        let stage = StageSummary(name: "PPO", goldScore: 0.5, sampledGoldScore: 0.375, rewardScore: nil, klToSFT: 0.25, exactMatch: ["add": 1],
                                 samples: [sample(.add, "What is 1 + 2?", "3", 1)])
        let data = try JSONEncoder().encode(stage)
        let json = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(json.contains("\"kl_to_sft\":0.25") && json.contains("\"gold_score\":0.5") && json.contains("\"sampled_gold_score\":0.375"), json)
        let back = try JSONDecoder().decode(StageSummary.self, from: data)
        XCTAssertEqual(AlignmentReport.comparisonTable([back]), AlignmentReport.comparisonTable([stage]))
        XCTAssertNil(back.rewardScore)
    }
}
