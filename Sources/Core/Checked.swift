/// Size arithmetic that reports overflow as nil instead of trapping: every size a user or a file controls
/// is multiplied and added through these before anything is allocated.
public enum Checked {
    /// The product of `factors`, or nil if any factor is nil or negative or the product overflows.
    public static func product(_ factors: Int?...) -> Int? {
        var result = 1
        for factor in factors {
            guard let factor, factor >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }

    /// The sum of `terms`, or nil if any term is nil or the sum overflows.
    public static func sum(_ terms: Int?...) -> Int? {
        var result = 0
        for term in terms {
            guard let term else { return nil }
            let (next, overflow) = result.addingReportingOverflow(term)
            guard !overflow else { return nil }
            result = next
        }
        return result
    }
}
