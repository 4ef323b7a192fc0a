import Core
import Foundation

/// Repeated timings of one benchmark, summarised the way the reports quote them.
public struct Measurement: Codable, Sendable {
    public var samplesMilliseconds: [Double]

    public init(samplesMilliseconds: [Double]) {
        self.samplesMilliseconds = samplesMilliseconds
    }

    public var median: Double {
        let sorted = samplesMilliseconds.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
    public var minimum: Double { samplesMilliseconds.min() ?? .nan }
    public var maximum: Double { samplesMilliseconds.max() ?? .nan }

    /// Runs `body` `warmup` times untimed, then `repeats` times timed.
    public static func time(warmup: Int, repeats: Int, _ body: () throws -> Void) rethrows -> Measurement {
        for _ in 0..<warmup { try body() }
        let clock = ContinuousClock()
        var samples: [Double] = []
        for _ in 0..<repeats {
            let start = clock.now
            try body()
            let elapsed = clock.now - start
            samples.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return Measurement(samplesMilliseconds: samples)
    }
}

/// What machine a result was measured on.
public struct MachineInfo: Codable, Sendable {
    public var cpuModel: String
    public var cores: Int
    public var blasCoreType: String
    public var date: String

    public static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let formatter = ISO8601DateFormatter()
        return MachineInfo(cpuModel: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                           blasCoreType: BLASInfo.coreType, date: formatter.string(from: Date()))
    }
}

/// Peak resident memory of this process so far, from getrusage (Linux reports KiB).
public func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
