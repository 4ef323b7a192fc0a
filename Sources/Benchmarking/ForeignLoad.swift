import Foundation

/// CPU used by *other* processes while a benchmark runs, from /proc/stat (all busy time) minus
/// /proc/self/stat (ours). The machines are shared, so every result carries this figure, and a run can
/// wait for a quiet machine first.
public struct ForeignLoad {
    private var busyTicks: Double
    private var ownTicks: Double
    private var started: ContinuousClock.Instant
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    public init() {
        busyTicks = ForeignLoad.machineBusyTicks()
        ownTicks = ForeignLoad.processTicks()
        started = ContinuousClock.now
    }

    /// Average number of cores other processes kept busy since `init` (or the last `reset`).
    public var cores: Double {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard seconds > 0 else { return 0 }
        let foreign = (ForeignLoad.machineBusyTicks() - busyTicks) - (ForeignLoad.processTicks() - ownTicks)
        return max(0, foreign / ForeignLoad.ticksPerSecond / seconds)
    }

    public mutating func reset() { self = ForeignLoad() }

    /// Sleeps until other processes have used less than `threshold` cores over a one-second window,
    /// giving up after `timeout` seconds. Returns the last reading.
    @discardableResult
    public static func waitForQuiet(threshold: Double = 0.15, timeout: Double = 120) -> Double {
        let deadline = ContinuousClock.now + .seconds(timeout)
        var reading = Double.infinity
        while ContinuousClock.now < deadline {
            let window = ForeignLoad()
            Thread.sleep(forTimeInterval: 1)
            reading = window.cores
            if reading < threshold { break }
        }
        return reading
    }

    /// user + nice + system + irq + softirq + steal ticks of all CPUs (first line of /proc/stat).
    private static func machineBusyTicks() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return 0 }
        return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    }

    /// utime + stime of this process (fields 14 and 15 of /proc/self/stat, counted after the command name).
    private static func processTicks() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return user + system
    }
}
