import Accounting
import Model
import TestSupport
import XCTest

/// Parameters of a GPT-2 style model counted tensor by tensor, independently of `ModelConfig.parameterCount`.
private func countParameters(vocab: Int, context: Int, layers: Int, width c: Int) -> (total: Int, nonEmbedding: Int) {
    let embeddings = vocab * c + context * c  // wte (tied with the LM head, counted once), wpe
    let layerNorm = 2 * c                      // weight + bias
    let perLayer = layerNorm                   // ln_1
        + (c * 3 * c + 3 * c)                  // c_attn: qkv weight + bias
        + (c * c + c)                          // attn c_proj
        + layerNorm                            // ln_2
        + (c * 4 * c + 4 * c)                  // mlp c_fc
        + (4 * c * c + c)                      // mlp c_proj
    let nonEmbedding = layers * perLayer + layerNorm  // + ln_f
    return (embeddings + nonEmbedding, nonEmbedding)
}

final class AccountingTests: XCTestCase {
    // MARK: GPT-3

    func testGPT3FromRawParameterCountMatchesQuotedFigures() throws {
        let estimate = try ComputeEstimate(EstimateRequest(model: try ModelSize(parameters: 175e9), tokens: 300e9))
        // 6 * 175e9 * 300e9 = 3.15e23 FLOPs = 3.15e23 / 8.64e19 = 3645.8 PF-days.
        XCTAssertEqual(estimate.trainingFLOPs, 3.15e23, accuracy: 1e20)
        XCTAssertEqual(estimate.pfDays, 3645.83, accuracy: 0.01)
        XCTAssertEqual(estimate.attentionTrainingFLOPsPerToken, 0)
        // Widely quoted (Brown et al. 2020): 3.14e23 FLOPs, 3640 PF-days; within 1%.
        assertClose(estimate.trainingFLOPs, 3.14e23, absolute: 0, relative: 0.01)
        assertClose(estimate.pfDays, 3640, absolute: 0, relative: 0.01)
        // The paper's own N = 174.6e9 reproduces its numbers within 0.1%.
        let paper = try ComputeEstimate(EstimateRequest(model: try ModelSize(parameters: 174.6e9), tokens: 300e9))
        assertClose(paper.trainingFLOPs, 3.14e23, absolute: 0, relative: 0.001)
        assertClose(paper.pfDays, 3640, absolute: 0, relative: 0.001)
        // Inference without an architecture: 2N per token.
        XCTAssertEqual(estimate.inferenceFLOPsPerToken, 350e9)
        XCTAssertNil(estimate.inferenceContext)
    }

    func testGPT3ArchitectureHas174Point6BillionParameters() throws {
        // 96 layers, d_model 12288, n_ctx 2048, 96 heads, GPT-2 vocabulary.
        let size = try ModelSize(config: ModelConfig(vocabularySize: 50257, contextLength: 2048, layers: 96, heads: 96, width: 12288))
        let expected = countParameters(vocab: 50257, context: 2048, layers: 96, width: 12288)
        XCTAssertEqual(size.totalParameters, Double(expected.total))
        assertClose(size.totalParameters, 174.6e9, absolute: 0, relative: 0.001)
        // Attention adds 6 * 96 * 2048 * 12288 = 1.4496e10 FLOPs per training token (1.4% over 6N).
        let estimate = try ComputeEstimate(EstimateRequest(model: size, tokens: 300e9))
        XCTAssertEqual(estimate.attentionTrainingFLOPsPerToken, 14_495_514_624)
    }

    // MARK: A small model by hand

    func testSmallModelParametersAndFLOPsByHand() throws {
        // 4 layers, width 128, 4 heads, context 256, 65 characters.
        let config = ModelConfig(vocabularySize: 65, contextLength: 256, layers: 4, heads: 4, width: 128)
        let expected = countParameters(vocab: 65, context: 256, layers: 4, width: 128)
        // wte 8320 + wpe 32768 + 4 * (12 * 128^2 + 13 * 128 = 198272) + ln_f 256 = 834432.
        XCTAssertEqual(expected.total, 834_432)
        XCTAssertEqual(expected.nonEmbedding, 793_344)
        let size = try ModelSize(config: config)
        XCTAssertEqual(size.totalParameters, 834_432)
        XCTAssertEqual(size.nonEmbeddingParameters, 793_344)

        let estimate = try ComputeEstimate(EstimateRequest(model: size, tokens: 1e6))
        // 6N = 5,006,592; attention 6 * 4 * 256 * 128 = 786,432; sum 5,793,024 per token.
        XCTAssertEqual(estimate.denseTrainingFLOPsPerToken, 5_006_592)
        XCTAssertEqual(estimate.attentionTrainingFLOPsPerToken, 786_432)
        XCTAssertEqual(estimate.trainingFLOPsPerToken, 5_793_024)
        XCTAssertEqual(estimate.trainingFLOPs, 5.793024e12)
        assertClose(estimate.pfDays, 5.793024e12 / 8.64e19, absolute: 0, relative: 1e-12)
        // Inference at the full context: 2N + 2 * 4 * 256 * 128 = 1,668,864 + 262,144.
        XCTAssertEqual(estimate.inferenceContext, 256)
        XCTAssertEqual(estimate.inferenceFLOPsPerToken, 1_931_008)
        // At a 64-token context the attention term is a quarter: 65,536.
        let short = try ComputeEstimate(EstimateRequest(model: size, tokens: 1e6, inferenceContext: 64))
        XCTAssertEqual(short.inferenceFLOPsPerToken, 1_734_400)
        XCTAssertEqual(short.trainingFLOPs, estimate.trainingFLOPs, "the inference context does not change training")
    }

    // MARK: Time and cost

    func testTimeAndCostFromTokensPerSecond() throws {
        let size = try ModelSize(config: ModelConfig(vocabularySize: 65, contextLength: 256, layers: 4, heads: 4, width: 128))
        let estimate = try ComputeEstimate(EstimateRequest(model: size, tokens: 1e6, throughput: .tokensPerSecond(1000),
                                                           pricePerDeviceHour: 3.6))
        XCTAssertEqual(estimate.trainingSeconds, 1000)
        XCTAssertEqual(estimate.achievedFLOPsPerSecond, 5.793024e9)
        // 3.6 per hour = 0.001 per second.
        assertClose(estimate.trainingCost!, 1.0, absolute: 0, relative: 1e-12)
        // 1000 tokens * 1,931,008 FLOPs / 5.793024e9 FLOP/s = 0.333333 s.
        assertClose(estimate.inferenceSecondsPer1kTokens!, 1_931_008e3 / 5.793024e9, absolute: 0, relative: 1e-12)
        assertClose(estimate.inferenceCostPer1kTokens!, 0.333333e-3, absolute: 1e-9, relative: 0)
    }

    func testTimeAndCostOnDevicesAtPeakAndMFU() throws {
        // GPT-3 on 1024 devices of 312 TFLOP/s at 50% MFU: 1.59744e17 FLOP/s.
        let request = EstimateRequest(model: try ModelSize(parameters: 175e9), tokens: 300e9,
                                      throughput: .peak(flopsPerSecondPerDevice: 312e12, utilization: 0.5),
                                      devices: 1024, pricePerDeviceHour: 2)
        let estimate = try ComputeEstimate(request)
        XCTAssertEqual(estimate.achievedFLOPsPerSecond, 1.59744e17)
        // 3.15e23 / 1.59744e17 = 1,971,905 s = 22.8 days; cost 547.75 h * 1024 * 2 = 1,121,795.
        assertClose(estimate.trainingSeconds!, 1_971_905, absolute: 1, relative: 0)
        assertClose(estimate.trainingCost!, 1_121_795, absolute: 1, relative: 0)
        // Inference: 350e9 FLOPs/token * 1000 / 1.59744e17 s, at 1024 * 2 / 3600 per second.
        assertClose(estimate.inferenceCostPer1kTokens!, 350e12 / 1.59744e17 * 1024 * 2 / 3600, absolute: 0, relative: 1e-12)
        let measured = try ComputeEstimate(EstimateRequest(model: try ModelSize(parameters: 175e9), tokens: 300e9,
                                                           throughput: .flopsPerSecond(1e15)))
        XCTAssertEqual(measured.trainingSeconds!, 3.15e8, accuracy: 1)
        XCTAssertNil(measured.trainingCost)
    }

    // MARK: Parsing and errors

    func testQuantityParsing() throws {
        let good: [(String, Double)] = [("175e9", 175e9), ("175B", 175e9), ("175b", 175e9), ("1.5T", 1.5e12), ("300_000", 3e5),
                                        ("6.4k", 6400), ("2G", 2e9), (" 12M ", 12e6), ("3.14e+23", 3.14e23), ("1P", 1e15), (".5k", 500)]
        for (text, value) in good {
            XCTAssertEqual(try Quantity.parse(text, name: "--tokens"), value, accuracy: value * 1e-15, text)
        }
        for text in ["", "abc", "1.2.3", "--5", "5BB", "inf", "nan", "0x10", "1e", "B", "12 B", "1,000"] {
            XCTAssertThrowsError(try Quantity.parse(text, name: "--params"), text) { error in
                XCTAssertEqual(String(describing: error),
                               "--params \"\(text)\" is not a number: write e.g. 175e9, 175B, 1.5T or 300000 (suffixes K M B/G T P)")
            }
        }
        XCTAssertThrowsError(try Quantity.parse("0", name: "--tokens")) { error in
            XCTAssertEqual(String(describing: error), "--tokens must be positive, got 0")
        }
        XCTAssertThrowsError(try Quantity.parse("-5B", name: "--tokens")) { error in
            XCTAssertEqual(String(describing: error), "--tokens must be positive, got -5B")
        }
        XCTAssertThrowsError(try Quantity.parse("1e400", name: "--tokens")) { error in
            XCTAssertEqual(String(describing: error), "--tokens 1e400 is too large")
        }
    }

    func testBadSizesAndRequestsGiveOneLineErrors() throws {
        func message(_ body: () throws -> Any) -> String {
            do {
                _ = try body()
                return "no error"
            } catch {
                return String(describing: error)
            }
        }
        let small = ModelConfig(vocabularySize: 65, contextLength: 256, layers: 4, heads: 4, width: 128)
        var config = small
        config.layers = 0
        XCTAssertEqual(message { try ModelSize(config: config) }, "--layers must be positive, got 0")
        config = small
        config.vocabularySize = -3
        XCTAssertEqual(message { try ModelSize(config: config) }, "--vocab must be positive, got -3")
        config = small
        config.heads = 3
        XCTAssertEqual(message { try ModelSize(config: config) }, "--width 128 is not divisible by --heads 3")
        config = small
        config.width = 2_000_000
        XCTAssertEqual(message { try ModelSize(config: config) }, "--width 2000000 is larger than the limit 1000000")
        XCTAssertEqual(message { try ModelSize(parameters: 0) }, "the parameter count must be positive, got 0.0")

        let params = try ModelSize(parameters: 1e9)
        XCTAssertEqual(message { try ComputeEstimate(EstimateRequest(model: params, tokens: -1)) },
                       "--tokens must be positive, got -1.0")
        XCTAssertEqual(message { try ComputeEstimate(EstimateRequest(model: params, tokens: 1e9, pricePerDeviceHour: 2)) },
                       "--price-per-hour needs a throughput: --flops-per-second, --tokens-per-second or --peak-flops with --mfu")
        XCTAssertEqual(message {
            try ComputeEstimate(EstimateRequest(model: params, tokens: 1e9, throughput: .peak(flopsPerSecondPerDevice: 1e12, utilization: 1.5)))
        }, "--mfu must be in (0, 1], got 1.5")
        XCTAssertEqual(message { try ComputeEstimate(EstimateRequest(model: params, tokens: 1e9, devices: 0)) },
                       "--devices must be at least 1, got 0")
        XCTAssertEqual(message { try ComputeEstimate(EstimateRequest(model: params, tokens: 1e9, inferenceContext: 128)) },
                       "--inference-context needs a model config (--layers --heads --width --context --vocab), not --params")
    }
}
