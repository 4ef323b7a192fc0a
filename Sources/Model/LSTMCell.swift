import Core

/// The elementwise part of one LSTM step for `rows` independent rows of width C (the matrix products that
/// make the gate pre-activations run before it, through BLAS). Shapes: gates (rows, 4C) stacked i, f, g, o;
/// cell, cellTanh, hidden (rows, C).
enum LSTMCell {
    /// gates holds the pre-activations a on entry and i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o) on exit
    /// (all the backward pass needs); c = f * previousCell + i * g (previousCell nil: a zero state);
    /// cellTanh = tanh(c); hidden = o * tanh(c). `cell` may be `previousCell` (a decoding state updated in place).
    static func forward(gates: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>?, cell: UnsafeMutablePointer<Float>,
                        cellTanh: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, rows: Int, width c: Int) {
        for row in 0..<rows {
            let a = gates + row * 4 * c
            VectorMath.map(a, 2 * c, sigmoid)             // i, f
            VectorMath.map(a + 2 * c, c, tanh)            // g
            VectorMath.map(a + 3 * c, c, sigmoid)         // o
            let cellRow = cell + row * c, tanhRow = cellTanh + row * c, hiddenRow = hidden + row * c
            let previous = previousCell.map { $0 + row * c }
            for j in 0..<c {
                cellRow[j] = a[c + j] * (previous?[j] ?? 0) + a[j] * a[2 * c + j]
                tanhRow[j] = cellRow[j]
            }
            VectorMath.map(tanhRow, c, tanh)
            for j in 0..<c { hiddenRow[j] = a[3 * c + j] * tanhRow[j] }
        }
    }

    /// Given dhidden = dL/dh_t and dcell = dL/dc_t arriving from step t + 1, writes dgates = dL/da_t (rows, 4C)
    /// and accumulates dL/dc_{t-1} = dc * f into dpreviousCell (nil at t = 0, where the state is a constant zero).
    static func backward(dgates: UnsafeMutablePointer<Float>, dpreviousCell: UnsafeMutablePointer<Float>?,
                         dcell: UnsafePointer<Float>, dhidden: UnsafePointer<Float>, gates: UnsafePointer<Float>,
                         previousCell: UnsafePointer<Float>?, cellTanh: UnsafePointer<Float>, rows: Int, width c: Int) {
        for row in 0..<rows {
            let a = gates + row * 4 * c, da = dgates + row * 4 * c
            let dh = dhidden + row * c, dcIn = dcell + row * c, tc = cellTanh + row * c
            for j in 0..<c {
                let i = a[j], f = a[c + j], g = a[2 * c + j], o = a[3 * c + j]
                // h = o tanh(c): the cell's gradient is what came from t + 1 plus the path through h_t.
                let dc = dcIn[j] + dh[j] * o * (1 - tc[j] * tc[j])
                let previous = previousCell?[row * c + j] ?? 0
                da[j] = dc * g * i * (1 - i)
                da[c + j] = dc * previous * f * (1 - f)
                da[2 * c + j] = dc * i * (1 - g * g)
                da[3 * c + j] = dh[j] * tc[j] * o * (1 - o)
                dpreviousCell?[row * c + j] += dc * f
            }
        }
    }

    @inline(__always) static func sigmoid(_ x: VectorMath.Vector) -> VectorMath.Vector {
        1 / (1 + VectorMath.exp(-x))
    }

    /// tanh(x) = 2 σ(2x) - 1.
    @inline(__always) static func tanh(_ x: VectorMath.Vector) -> VectorMath.Vector {
        2 / (1 + VectorMath.exp(-2 * x)) - 1
    }
}
