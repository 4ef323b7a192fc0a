import Core
import Foundation

public struct KernelResult: Codable, Sendable {
    public var kernel: String
    public var shape: String
    public var threads: Int
    public var milliseconds: Measurement
    /// GFLOP/s for matmul-like kernels, GB/s (bytes read + written) for memory-bound ones.
    public var rate: Double
    public var unit: String
    public var foreignLoadCores: Double
}

/// Kernel throughput. Every kernel is first checked against a reference (the naive matmul on sampled
/// entries, or a scalar Double computation), then warmed up and timed.
public enum KernelBenchmark {
    /// sgemm shapes (M, N, K) of the S and M training configurations' linear layers, plus squares.
    public static let gemmShapes: [(String, Int, Int, Int)] = [
        ("S qkv fwd", 768, 384, 128), ("S fc fwd", 768, 512, 128), ("S fcproj fwd", 768, 128, 512),
        ("M qkv fwd", 2048, 1152, 384), ("M fc fwd", 2048, 1536, 384), ("M fcproj fwd", 2048, 384, 1536),
        ("square", 1024, 1024, 1024), ("square", 2048, 2048, 2048),
    ]

    public static func gemm(label: String, m: Int, n: Int, k: Int, threads: Int, repeats: Int) throws -> KernelResult {
        try ComputeThreads.set(threads)
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: n * k), c = FloatBuffer(count: m * n)
        var generator = SeededGenerator(seed: 5)
        for i in 0..<a.count { a[i] = generator.nextNormal() }
        for i in 0..<b.count { b[i] = generator.nextNormal() }
        // C = A (M, K) @ B^T, the orientation of Linear.forward
        let run = {
            Gemm.blas(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k,
                      b: b.pointer, ldb: k, beta: 0, c: c.pointer, ldc: n)
        }
        run()
        for _ in 0..<16 {
            let i = generator.nextInt(below: m), j = generator.nextInt(below: n)
            let expected = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[j * k + $1]) }
            guard abs(Double(c[i * n + j]) - expected) <= 1e-3 * (1 + abs(expected)) else {
                throw CoreError.invalidArgument("sgemm validation failed at (\(i), \(j)): \(c[i * n + j]) vs \(expected)")
            }
        }
        let load = ForeignLoad()
        let time = Measurement.time(warmup: 2, repeats: repeats, run)
        let gflops = 2 * Double(m) * Double(n) * Double(k) / (time.median / 1000) / 1e9
        return KernelResult(kernel: "sgemm \(label)", shape: "\(m)x\(n)x\(k)", threads: threads, milliseconds: time,
                            rate: gflops, unit: "GFLOP/s", foreignLoadCores: load.cores)
    }

    /// LayerNorm forward, GELU forward and the attention softmax on activation-sized buffers (single thread).
    public static func elementwise(rows n: Int, width c: Int, repeats: Int) throws -> [KernelResult] {
        var generator = SeededGenerator(seed: 6)
        let x = FloatBuffer(count: n * c), y = FloatBuffer(count: n * c)
        for i in 0..<x.count { x[i] = 2 * generator.nextNormal() }
        let weight = FloatBuffer([Float](repeating: 1, count: c)), bias = FloatBuffer(count: c)
        let mean = FloatBuffer(count: n), rstd = FloatBuffer(count: n)
        var results: [KernelResult] = []

        LayerNorm.forward(out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer, weight: weight.pointer,
                          bias: bias.pointer, rows: n, width: c)
        let rowMean = (0..<c).reduce(0.0) { $0 + Double(y[$1]) } / Double(c)
        guard abs(rowMean) < 1e-4 else { throw CoreError.invalidArgument("layernorm validation failed: row mean \(rowMean)") }
        results.append(timed("layernorm fwd", n, c, bytes: 2 * n * c * 4, repeats: repeats) {
            LayerNorm.forward(out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer, weight: weight.pointer,
                              bias: bias.pointer, rows: n, width: c)
        })

        GELU.forward(out: y.pointer, inp: x.pointer, count: n * c)
        let v = Double(x[7])
        let expected = 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
        guard abs(Double(y[7]) - expected) < 1e-5 else { throw CoreError.invalidArgument("gelu validation failed") }
        results.append(timed("gelu fwd", n, c, bytes: 2 * n * c * 4, repeats: repeats) {
            GELU.forward(out: y.pointer, inp: x.pointer, count: n * c)
        })

        results.append(timed("causal softmax rows", n, c, bytes: 2 * n * c * 4, repeats: repeats) {
            y.copy(from: x)
            for row in 0..<n { Softmax.causalRow(y.pointer + row * c, valid: c, length: c) }
        })
        let total = (0..<c).reduce(0.0) { $0 + Double(y[$1]) }
        guard abs(total - 1) < 1e-4 else { throw CoreError.invalidArgument("softmax validation failed: row sums to \(total)") }
        return results
    }

    /// Attention forward + backward (B, T, C, H) as GFLOP/s of the causal work actually done.
    public static func attention(batch b: Int, time t: Int, width c: Int, heads h: Int, threads: Int, repeats: Int) throws -> KernelResult {
        try ComputeThreads.set(threads)
        var generator = SeededGenerator(seed: 8)
        let qkv = FloatBuffer(count: b * t * 3 * c), out = FloatBuffer(count: b * t * c), att = FloatBuffer(count: b * h * t * t)
        let dout = FloatBuffer(count: b * t * c), dqkv = FloatBuffer(count: b * t * 3 * c), datt = FloatBuffer(count: b * h * t * t)
        for i in 0..<qkv.count { qkv[i] = generator.nextNormal() }
        for i in 0..<dout.count { dout[i] = generator.nextNormal() }
        Attention.forward(out: out.pointer, att: att.pointer, qkv: qkv.pointer, batch: b, time: t, width: c, heads: h)
        guard abs(att[0] - 1) < 1e-6, att[1] == 0 else { throw CoreError.invalidArgument("attention validation failed") }
        let load = ForeignLoad()
        let time = Measurement.time(warmup: 2, repeats: repeats) {
            Attention.forward(out: out.pointer, att: att.pointer, qkv: qkv.pointer, batch: b, time: t, width: c, heads: h)
            Attention.backward(dqkv: dqkv.pointer, datt: datt.pointer, dout: dout.pointer, qkv: qkv.pointer, att: att.pointer,
                               batch: b, time: t, width: c, heads: h)
        }
        // Causal: about T^2/2 score entries per head, each 2 * hs FLOPs per product, 2 products forward, 4 backward.
        let flops = Double(b * h) * Double(t * (t + 1) / 2) * Double(c / h) * 2 * 6
        return KernelResult(kernel: "attention fwd+bwd", shape: "B\(b) T\(t) C\(c) H\(h)", threads: threads, milliseconds: time,
                            rate: flops / (time.median / 1000) / 1e9, unit: "GFLOP/s", foreignLoadCores: load.cores)
    }

    private static func timed(_ name: String, _ n: Int, _ c: Int, bytes: Int, repeats: Int, _ body: () -> Void) -> KernelResult {
        let load = ForeignLoad()
        let time = Measurement.time(warmup: 2, repeats: repeats, body)
        return KernelResult(kernel: name, shape: "\(n)x\(c)", threads: 1, milliseconds: time,
                            rate: Double(bytes) / (time.median / 1000) / 1e9, unit: "GB/s", foreignLoadCores: load.cores)
    }
}

/// The machine's FP32 peak two ways: derived from the spec sheet and measured with FMA chains.
public struct PeakReport: Codable, Sendable {
    public var clockGHz: Double
    public var flopsPerCyclePerCore: Double
    public var derivedGFLOPSPerCore: Double
    public var measuredGFLOPSPerCore: Double
    public var measuredGFLOPSAllCores: Double
    public var assumptions: String

    public static func current() -> PeakReport {
        // AVX-512 / AVX2 FMA: 2 FMA pipes x 8 FP32 lanes (256-bit datapaths on Zen 4) x 2 FLOPs per FMA.
        let flopsPerCycle = 32.0
        let measured1 = MachinePeak.measureFLOPS(threads: 1) / 1e9
        // The clock is inferred from the measurement when /proc/cpuinfo reports only the nominal base clock.
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let mhz = cpuinfo.split(separator: "\n").first { $0.hasPrefix("cpu MHz") }
            .flatMap { Double($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? 0
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return PeakReport(clockGHz: mhz / 1000, flopsPerCyclePerCore: flopsPerCycle,
                          derivedGFLOPSPerCore: mhz / 1000 * flopsPerCycle, measuredGFLOPSPerCore: measured1,
                          measuredGFLOPSAllCores: MachinePeak.measureFLOPS(threads: cores) / 1e9,
                          assumptions: "2 FMA pipes x 8 FP32 lanes x 2 FLOPs per cycle per core at the clock /proc/cpuinfo reports (a VM often shows the base clock; the measured figure reflects the real boost clock)")
    }
}
