import CBLAS
import Foundation

/// What OpenBLAS reports about itself (recorded with benchmark results), and the fix for when its CPU
/// detection fails.
public enum BLASInfo {
    /// The kernel family OpenBLAS picked for this CPU, e.g. "Cooperlake" or "Haswell". On the AMD Zen 5
    /// machines of this project OpenBLAS picks Cooperlake (AVX-512); forcing `OPENBLAS_CORETYPE=Haswell`
    /// halves sgemm throughput (Benchmarks/RESULTS.md).
    public static var coreType: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Kernel families OpenBLAS falls back to when it does not recognise a CPU model (0.3.21 takes the Intel
    /// family 6 model 207 Xeons for a Prescott, whose SSE3 sgemm runs ~5x slower than the AVX-512 one).
    static let genericCoreTypes: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai",
                                                "Coppermine", "Northwood", "Banias"]

    /// The kernel family to ask OpenBLAS for (through `OPENBLAS_CORETYPE`, read when it loads) when it picked
    /// a generic one on a CPU with AVX2 or AVX-512; nil when its choice stands or the user already chose.
    public static func betterCoreType(picked: String, cpuFlags: Set<String>, environment: [String: String]) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, genericCoreTypes.contains(picked) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
            return cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// This machine's CPU feature flags, from /proc/cpuinfo (empty when it cannot be read).
    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let list = line.split(separator: ":", maxSplits: 1).last else { return [] }
        return Set(list.split(separator: " ").map(String.init))
    }
}
