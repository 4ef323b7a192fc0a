import Foundation

/// One named line of a plot. Non-finite points are kept here and skipped when drawing.
public struct PlotSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]

    public init(name: String, points: [(x: Double, y: Double)]) {
        self.name = name
        self.points = points
    }

    /// `ys[i]` plotted at x = i (a metric logged once per step).
    public init(name: String, ys: [Double]) {
        self.init(name: name, points: ys.enumerated().map { (x: Double($0.offset), y: $0.element) })
    }
}

/// A line chart as a standalone SVG document: no dependencies, deterministic text (every coordinate has two
/// decimals), so the same data always gives the same bytes.
///
/// Layout: the plot area spans x in [`marginLeft`, width - `marginRight`] and y in [`marginTop`,
/// height - `marginBottom`]; the legend sits in the right margin. Each axis runs from its first to its last
/// tick (`niceTicks`), so the data never touches the frame except at a tick.
public struct SVGLinePlot: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [PlotSeries]
    public var width = 640.0
    public var height = 360.0

    public static let marginLeft = 70.0, marginRight = 130.0, marginTop = 40.0, marginBottom = 50.0
    /// Series colours, reused in order when there are more series than colours.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, series: [PlotSeries], width: Double = 640, height: Double = 360) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.width = width
        self.height = height
    }

    public func render() -> String {
        let (left, right) = (Self.marginLeft, width - Self.marginRight)
        let (top, bottom) = (Self.marginTop, height - Self.marginBottom)
        let finite = series.map { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let all = finite.joined()
        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.fmt(width))" height="\(Self.fmt(height))" \
        viewBox="0 0 \(Self.fmt(width)) \(Self.fmt(height))" font-family="sans-serif" font-size="12">
        <rect x="0" y="0" width="\(Self.fmt(width))" height="\(Self.fmt(height))" fill="white"/>
        \(text(width / 2, 22, title, anchor: "middle", extra: #" font-size="15""#))
        \(text((left + right) / 2, height - 12, xLabel, anchor: "middle"))
        \(text(16, (top + bottom) / 2, yLabel, anchor: "middle", extra: " transform=\"rotate(-90 16 \(Self.fmt((top + bottom) / 2)))\""))
        <rect x="\(Self.fmt(left))" y="\(Self.fmt(top))" width="\(Self.fmt(right - left))" height="\(Self.fmt(bottom - top))" \
        fill="none" stroke="#444"/>

        """
        guard let xMin = all.map(\.x).min(), let xMax = all.map(\.x).max(),
              let yMin = all.map(\.y).min(), let yMax = all.map(\.y).max() else {
            svg += text((left + right) / 2, (top + bottom) / 2, "no data", anchor: "middle") + "\n</svg>\n"
            return svg
        }
        let xTicks = Self.niceTicks(xMin, xMax), yTicks = Self.niceTicks(yMin, yMax)
        let (x0, x1, y0, y1) = (xTicks.first!, xTicks.last!, yTicks.first!, yTicks.last!)
        // Halved before subtracting so -1e308...1e308 does not overflow to inf / inf.
        func fraction(_ v: Double, _ a: Double, _ b: Double) -> Double { (v / 2 - a / 2) / (b / 2 - a / 2) }
        func px(_ x: Double) -> Double { left + fraction(x, x0, x1) * (right - left) }
        func py(_ y: Double) -> Double { bottom - fraction(y, y0, y1) * (bottom - top) }
        let xDecimals = Self.decimals(for: xTicks), yDecimals = Self.decimals(for: yTicks)
        for tick in xTicks {
            let x = Self.fmt(px(tick))
            svg += "<line x1=\"\(x)\" y1=\"\(Self.fmt(top))\" x2=\"\(x)\" y2=\"\(Self.fmt(bottom + 4))\" stroke=\"#ddd\"/>\n"
            svg += text(px(tick), bottom + 18, Self.fmt(tick, decimals: xDecimals), anchor: "middle") + "\n"
        }
        for tick in yTicks {
            let y = Self.fmt(py(tick))
            svg += "<line x1=\"\(Self.fmt(left - 4))\" y1=\"\(y)\" x2=\"\(Self.fmt(right))\" y2=\"\(y)\" stroke=\"#ddd\"/>\n"
            svg += text(left - 8, py(tick) + 4, Self.fmt(tick, decimals: yDecimals), anchor: "end") + "\n"
        }
        for (index, points) in finite.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            if points.count == 1 {
                svg += "<circle cx=\"\(Self.fmt(px(points[0].x)))\" cy=\"\(Self.fmt(py(points[0].y)))\" r=\"3\" fill=\"\(colour)\"/>\n"
            } else if points.count > 1 {
                let list = points.map { "\(Self.fmt(px($0.x))),\(Self.fmt(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(list)\"/>\n"
            }
            let rowY = top + 8 + 18 * Double(index)
            svg += "<line x1=\"\(Self.fmt(right + 12))\" y1=\"\(Self.fmt(rowY))\" x2=\"\(Self.fmt(right + 32))\" y2=\"\(Self.fmt(rowY))\" "
                + "stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
            svg += text(right + 38, rowY + 4, series[index].name, anchor: "start") + "\n"
        }
        return svg + "</svg>\n"
    }

    /// Tick values for data in [lo, hi]: the step is (hi - lo) / 4 rounded to the nearest of 1, 2, 5 x 10^k
    /// (mantissa below 1.5 -> 1, below 3 -> 2, below 7 -> 5, else 10), and the ticks run over the multiples
    /// of the step from the last one at or below lo to the first one at or above hi (so 4 to 7 ticks).
    /// 0...0.93 -> step 0.2, ticks 0, 0.2, ..., 1.0; 3.2...3.9 -> step 0.2, ticks 3.2, 3.4, ..., 4.0.
    /// A zero-width range is padded first: by 10% of |lo| on each side, or by 1 when lo is 0.
    public static func niceTicks(_ lo: Double, _ hi: Double) -> [Double] {
        var (lo, hi) = (min(lo, hi), max(lo, hi))
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            (lo, hi) = (lo - pad, hi + pad)
        }
        let raw = (hi - lo) / 4
        guard raw.isFinite, raw > 0 else { return [lo, hi] }
        let magnitude = pow(10, floor(log10(raw)))
        let mantissa = raw / magnitude
        let step = magnitude * (mantissa < 1.5 ? 1 : mantissa < 3 ? 2 : mantissa < 7 ? 5 : 10)
        // Snap quotients within 1e-9 of an integer: 3.2 / 0.2 = 16.000000000000004 must start at 16, not 17.
        func snap(_ q: Double) -> Double { abs(q - q.rounded()) < 1e-9 ? q.rounded() : q }
        let first = snap(lo / step).rounded(.down), last = snap(hi / step).rounded(.up)
        guard first.isFinite, last.isFinite, last - first < 100 else { return [lo, hi] }
        return (Int(first)...Int(last)).map { Double($0) * step }
    }

    /// Enough decimals to tell the ticks apart: 0 for a step of 1 or more, 1 for 0.2, 2 for 0.05, ...
    static func decimals(for ticks: [Double]) -> Int {
        guard ticks.count > 1, case let step = ticks[1] - ticks[0], step.isFinite, step > 0 else { return 2 }
        return min(10, max(0, Int((-log10(step) - 1e-6).rounded(.up))))
    }

    static func fmt(_ value: Double, decimals: Int = 2) -> String {
        let text = String(format: "%.\(decimals)f", value)
        // -0.001 printed with 2 decimals is "-0.00": drop the sign so equal pixels print equal text.
        return text.hasPrefix("-") && text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(text.dropFirst()) : text
    }

    private func text(_ x: Double, _ y: Double, _ content: String, anchor: String, extra: String = "") -> String {
        "<text x=\"\(Self.fmt(x))\" y=\"\(Self.fmt(y))\" text-anchor=\"\(anchor)\"\(extra)>\(Self.escapeXML(content))</text>"
    }

    /// Escapes `& < > " '` and drops control characters that XML 1.0 forbids.
    public static func escapeXML(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default: if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
