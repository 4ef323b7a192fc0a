import CBLAS

/// What OpenBLAS reports about itself (recorded with benchmark results).
public enum BLASInfo {
    /// The kernel family OpenBLAS picked for this CPU, e.g. "Cooperlake" or "Haswell". On the AMD Zen 5
    /// machines of this project OpenBLAS picks Cooperlake (AVX-512); forcing `OPENBLAS_CORETYPE=Haswell`
    /// halves sgemm throughput (Benchmarks/RESULTS.md).
    public static var coreType: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
