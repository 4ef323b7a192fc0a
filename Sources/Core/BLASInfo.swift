import CBLAS

/// What OpenBLAS reports about itself (for benchmark records).
public enum BLASInfo {
    /// The kernel family OpenBLAS picked for this CPU, e.g. "Haswell" or "Cooperlake".
    public static var coreType: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
