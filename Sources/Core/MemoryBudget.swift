import Foundation

/// Refuses a job whose buffers would not fit in the machine's memory, before any of them is allocated:
/// an allocation beyond memory otherwise ends the process (an abort, or the kernel's OOM killer) with
/// nothing said. Byte counts are Doubles so a hostile size cannot overflow the estimate itself.
public enum MemoryBudget {
    /// Physical memory of the machine, in bytes.
    public static var machineBytes: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// Throws when `bytes` exceed the machine's memory, naming both figures.
    public static func require(_ bytes: Double, for what: String) throws {
        guard bytes <= machineBytes else {
            throw CoreError.invalidArgument("\(what) needs about \(describe(bytes)) of memory but this machine has \(describe(machineBytes))")
        }
    }

    /// "1.5 GB", "320 MB", "12 KB".
    public static func describe(_ bytes: Double) -> String {
        let units: [(Double, String)] = [(1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")]
        guard let (scale, unit) = units.first(where: { bytes >= $0.0 }) else { return String(format: "%.0f bytes", bytes) }
        return String(format: "%.3g %@", bytes / scale, unit)
    }
}
