import Core
import Foundation
import TestSupport
import XCTest

/// Each kernel's backward pass against central finite differences of an independent Double reference
/// of its forward pass, on L = sum(out * G) for a random upstream gradient G.
final class KernelGradientTests: XCTestCase {
    let absolute = 2e-5
    let relative = 2e-3

    func testLinear() {
        let n = 5, c = 6, oc = 4
        let x = randomValues(n * c, seed: 1), w = randomValues(oc * c, seed: 2), bias = randomValues(oc, seed: 3)
        let g = randomValues(n * oc, seed: 4)
        func reference(_ x: [Double], _ w: [Double], _ bias: [Double]) -> Double {
            var total = 0.0
            for row in 0..<n { for o in 0..<oc {
                var y = bias[o]
                for i in 0..<c { y += x[row * c + i] * w[o * c + i] }
                total += y * Double(g[row * oc + o])
            } }
            return total
        }
        var out = [Float](repeating: 0, count: n * oc)
        Linear.forward(out: &out, inp: x, weight: w, bias: bias, rows: n, inputs: c, outputs: oc)
        let xd = x.map(Double.init), wd = w.map(Double.init), bd = bias.map(Double.init)
        assertClose(zip(out, g).reduce(0.0) { $0 + Double($1.0 * $1.1) }, reference(xd, wd, bd), absolute: 1e-4, relative: 1e-5)
        var dx = [Float](repeating: 0, count: n * c), dw = [Float](repeating: 0, count: oc * c), db = [Float](repeating: 0, count: oc)
        Linear.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: g, inp: x, weight: w, rows: n, inputs: c, outputs: oc)
        assertClose(dx.map(Double.init), finiteDifferenceGradient(of: xd) { reference($0, wd, bd) }, absolute: absolute, relative: relative)
        assertClose(dw.map(Double.init), finiteDifferenceGradient(of: wd) { reference(xd, $0, bd) }, absolute: absolute, relative: relative)
        assertClose(db.map(Double.init), finiteDifferenceGradient(of: bd) { reference(xd, wd, $0) }, absolute: absolute, relative: relative)
    }

    func testLayerNorm() {
        let n = 3, c = 20
        let x = randomValues(n * c, scale: 2, seed: 5), w = randomValues(c, seed: 6), bias = randomValues(c, seed: 7)
        let g = randomValues(n * c, seed: 8)
        func reference(_ x: [Double], _ w: [Double], _ bias: [Double]) -> Double {
            var total = 0.0
            for row in 0..<n {
                let slice = x[(row * c)..<(row * c + c)]
                let mean = slice.reduce(0, +) / Double(c)
                let variance = slice.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
                for i in 0..<c {
                    let y = (x[row * c + i] - mean) / (variance + 1e-5).squareRoot() * w[i] + bias[i]
                    total += y * Double(g[row * c + i])
                }
            }
            return total
        }
        var out = [Float](repeating: 0, count: n * c), mean = [Float](repeating: 0, count: n), rstd = [Float](repeating: 0, count: n)
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: bias, rows: n, width: c)
        let xd = x.map(Double.init), wd = w.map(Double.init), bd = bias.map(Double.init)
        assertClose(zip(out, g).reduce(0.0) { $0 + Double($1.0 * $1.1) }, reference(xd, wd, bd), absolute: 1e-4, relative: 1e-5)
        var dx = [Float](repeating: 0, count: n * c), dw = [Float](repeating: 0, count: c), db = [Float](repeating: 0, count: c)
        LayerNorm.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: g, inp: x, weight: w, mean: mean, rstd: rstd, rows: n, width: c)
        assertClose(dx.map(Double.init), finiteDifferenceGradient(of: xd) { reference($0, wd, bd) }, absolute: absolute, relative: relative)
        assertClose(dw.map(Double.init), finiteDifferenceGradient(of: wd) { reference(xd, $0, bd) }, absolute: absolute, relative: relative)
        assertClose(db.map(Double.init), finiteDifferenceGradient(of: bd) { reference(xd, wd, $0) }, absolute: absolute, relative: relative)
    }

    func testGELU() {
        // 37 values (two full SIMD vectors and a tail) spanning both saturated tails and the bend.
        let x = (0..<37).map { Float($0) * 0.5 - 9 }
        let g = randomValues(x.count, seed: 9)
        func gelu(_ v: Double) -> Double { 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))) }
        func reference(_ x: [Double]) -> Double { zip(x, g).reduce(0) { $0 + gelu($1.0) * Double($1.1) } }
        var out = [Float](repeating: 0, count: x.count)
        GELU.forward(out: &out, inp: x, count: x.count)
        assertClose(out.map(Double.init), x.map { gelu(Double($0)) }, absolute: 1e-6, relative: 1e-5)
        var dx = [Float](repeating: 0.25, count: x.count)  // backward accumulates on top of what is there
        GELU.backward(dinp: &dx, inp: x, dout: g, count: x.count)
        let expected = finiteDifferenceGradient(of: x.map(Double.init), reference).map { $0 + 0.25 }
        assertClose(dx.map(Double.init), expected, absolute: absolute, relative: relative)
    }

    func testCausalAttention() throws {
        try checkCausalAttention(batch: 2, time: 5, width: 8, heads: 2)
    }

    /// Longer than one 64-row block, so the blocked causal products are exercised.
    func testCausalAttentionAcrossRowBlocks() throws {
        try checkCausalAttention(batch: 1, time: 70, width: 4, heads: 2)
    }

    func checkCausalAttention(batch b: Int, time t: Int, width c: Int, heads h: Int) throws {
        let hs = c / h
        let qkv = randomValues(b * t * 3 * c, seed: 10), g = randomValues(b * t * c, seed: 11)
        func reference(_ qkv: [Double]) -> Double {
            var total = 0.0
            for bi in 0..<b { for head in 0..<h { for i in 0..<t {
                func at(_ pos: Int, _ part: Int, _ d: Int) -> Double { qkv[(bi * t + pos) * 3 * c + part * c + head * hs + d] }
                var scores = (0...i).map { j in (0..<hs).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } / Double(hs).squareRoot() }
                let top = scores.max()!
                scores = scores.map { exp($0 - top) }
                let total0 = scores.reduce(0, +)
                for d in 0..<hs {
                    let y = (0...i).reduce(0.0) { $0 + scores[$1] / total0 * at($1, 2, d) }
                    total += y * Double(g[(bi * t + i) * c + head * hs + d])
                }
            } } }
            return total
        }
        var out = [Float](repeating: 0, count: b * t * c), att = [Float](repeating: 0, count: b * h * t * t)
        Attention.forward(out: &out, att: &att, qkv: qkv, batch: b, time: t, width: c, heads: h)
        let qd = qkv.map(Double.init)
        assertClose(zip(out, g).reduce(0.0) { $0 + Double($1.0 * $1.1) }, reference(qd), absolute: 1e-4, relative: 1e-5)
        // Causality: position 0 attends only to itself.
        XCTAssertEqual(att[0], 1, accuracy: 1e-6)
        var dqkv = [Float](repeating: 0, count: qkv.count), datt = [Float](repeating: 0, count: att.count)
        Attention.backward(dqkv: &dqkv, datt: &datt, dout: g, qkv: qkv, att: att, batch: b, time: t, width: c, heads: h)
        assertClose(dqkv.map(Double.init), finiteDifferenceGradient(of: qd, reference), absolute: absolute, relative: relative)
    }

    /// The vectorised causal softmax row against a Double softmax, across the 16-wide vector boundaries.
    func testCausalSoftmaxRow() {
        let length = 40
        for valid in [1, 15, 16, 17, 33, 40] {
            var row = randomValues(length, scale: 4, seed: UInt64(valid))
            let inputs = row.map(Double.init)
            row.withUnsafeMutableBufferPointer { Softmax.causalRow($0.baseAddress!, valid: valid, length: length) }
            let top = inputs[0..<valid].max()!
            let total = inputs[0..<valid].reduce(0) { $0 + exp($1 - top) }
            let expected = (0..<length).map { $0 < valid ? exp(inputs[$0] - top) / total : 0 }
            assertClose(row.map(Double.init), expected, absolute: 1e-7, relative: 1e-5, "valid \(valid)")
        }
    }

    func testSoftmaxCrossEntropy() {
        let n = 4, v = 19
        let logits = randomValues(n * v, scale: 3, seed: 12)
        let targets: [Int32] = [0, 18, 7, 3]
        let weights: [Float] = [0.25, 0.5, 0, 1]
        func reference(_ logits: [Double]) -> Double {
            (0..<n).reduce(0.0) { total, row in
                let slice = Array(logits[(row * v)..<(row * v + v)])
                let top = slice.max()!
                let logSum = log(slice.reduce(0) { $0 + exp($1 - top) }) + top
                return total + Double(weights[row]) * (logSum - slice[Int(targets[row])])
            }
        }
        var losses = [Float](repeating: 0, count: n), probs = [Float](repeating: 0, count: n * v)
        CrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: targets, rows: n, vocabulary: v)
        assertClose(zip(losses, weights).reduce(0.0) { $0 + Double($1.0 * $1.1) }, reference(logits.map(Double.init)),
                    absolute: 1e-5, relative: 1e-5)
        var dlogits = [Float](repeating: 0, count: n * v)
        CrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: targets, dlosses: weights, rows: n, vocabulary: v)
        assertClose(dlogits.map(Double.init), finiteDifferenceGradient(of: logits.map(Double.init), reference),
                    absolute: absolute, relative: relative)
    }

    func testEmbedding() {
        let b = 2, t = 3, c = 4, v = 5
        let tokens: [Int32] = [1, 4, 1, 0, 2, 1]
        let wte = randomValues(v * c, seed: 13), wpe = randomValues(t * c, seed: 14), g = randomValues(b * t * c, seed: 15)
        func reference(_ wte: [Double], _ wpe: [Double]) -> Double {
            (0..<(b * t)).reduce(0.0) { total, bt in
                total + (0..<c).reduce(0.0) { $0 + (wte[Int(tokens[bt]) * c + $1] + wpe[(bt % t) * c + $1]) * Double(g[bt * c + $1]) }
            }
        }
        var dwte = [Float](repeating: 0, count: v * c), dwpe = [Float](repeating: 0, count: t * c)
        Embedding.backward(dwte: &dwte, dwpe: &dwpe, dout: g, tokens: tokens, batch: b, time: t, width: c)
        let ed = wte.map(Double.init), pd = wpe.map(Double.init)
        assertClose(dwte.map(Double.init), finiteDifferenceGradient(of: ed) { reference($0, pd) }, absolute: absolute, relative: relative)
        assertClose(dwpe.map(Double.init), finiteDifferenceGradient(of: pd) { reference(ed, $0) }, absolute: absolute, relative: relative)
    }
}
