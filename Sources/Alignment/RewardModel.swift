import Core
import Foundation
import Model
import Tokenizers
import Training

/// A reward model: a GPT backbone plus a scalar head, r = w . h + b, where h (C) is the final hidden state
/// (after the last LayerNorm) at the sequence's last token, the `<|end|>` closing the response.
public final class RewardModel {
    public static let headFile = "reward_head.safetensors"
    public static let headFormat = "minigpt-reward-head"

    public let backbone: GPT
    /// w (C) then b (1).
    public let head: FloatBuffer
    public private(set) lazy var headGradients = FloatBuffer(count: head.count)

    public init(backbone: GPT, head: FloatBuffer) throws {
        guard head.count == backbone.config.width + 1 else {
            throw AlignmentError.mismatch("the reward head has \(head.count) values, the backbone of width \(backbone.config.width) needs \(backbone.config.width + 1)")
        }
        self.backbone = backbone
        self.head = head
    }

    /// Head initialised to zero, so every sequence starts with reward 0.
    public convenience init(backbone: GPT) throws {
        try self.init(backbone: backbone, head: FloatBuffer(count: backbone.config.width + 1))
    }

    var width: Int { backbone.config.width }

    /// Rewards (B) of `sequences`, run as one right-padded batch.
    public func scores(_ sequences: [[Int32]], pad: Int32) throws -> [Float] {
        let batch = PaddedBatch(inputs: sequences, pad: pad)
        try backbone.forward(tokens: batch.tokens, batch: batch.batch, time: batch.time)
        return batch.lastIndices.enumerated().map { row, last in score(hidden: backbone.hiddenState(row: row * batch.time + last)) }
    }

    func score(hidden: UnsafeBufferPointer<Float>) -> Float {
        var r = head[width]
        for i in 0..<width { r += head[i] * hidden[i] }
        return r
    }

    /// The pairwise loss mean_i -log sigmoid(r_chosen_i - r_rejected_i) over the pairs, and, with
    /// `backward`, its gradients accumulated into `backbone.gradients` and `headGradients` (zero them first).
    /// Chosen and rejected sequences run as one batch of 2 * pairs.
    @discardableResult
    public func pairwiseLoss(chosen: [[Int32]], rejected: [[Int32]], pad: Int32, backward: Bool) throws -> (loss: Float, chosen: [Float], rejected: [Float]) {
        precondition(chosen.count == rejected.count && !chosen.isEmpty, "one rejected sequence per chosen one")
        let n = chosen.count
        let batch = PaddedBatch(inputs: chosen + rejected, pad: pad)
        try backbone.forward(tokens: batch.tokens, batch: batch.batch, time: batch.time)
        let rows = batch.lastIndices.enumerated().map { $0.offset * batch.time + $0.element }
        let rewards = rows.map { score(hidden: backbone.hiddenState(row: $0)) }
        var loss: Float = 0
        var dRewards = [Float](repeating: 0, count: 2 * n)  // d loss / d r
        for i in 0..<n {
            let margin = Double(rewards[i] - rewards[n + i])
            loss += Float(negativeLogSigmoid(margin)) / Float(n)
            let g = Float(-sigmoid(-margin)) / Float(n)
            dRewards[i] = g
            dRewards[n + i] = -g
        }
        if backward {
            let c = width
            var dHidden = [Float](repeating: 0, count: batch.batch * batch.time * c)  // (2B, T, C)
            for (k, row) in rows.enumerated() {
                let hidden = backbone.hiddenState(row: row)
                for i in 0..<c {
                    headGradients[i] += dRewards[k] * hidden[i]
                    dHidden[row * c + i] = dRewards[k] * head[i]
                }
                headGradients[c] += dRewards[k]
            }
            backbone.backward(positionWeights: nil, hiddenGradient: dHidden)
        }
        return (loss, Array(rewards[0..<n]), Array(rewards[n...]))
    }

    public func zeroGradients() {
        backbone.zeroGradients()
        headGradients.fill(0)
    }

    /// Rewards of finished exchanges read from their tokens, `batchSize` at a time.
    public func scores(_ sequences: [[Int]], pad: Int32, batchSize: Int) throws -> [Double] {
        var result: [Double] = []
        for start in stride(from: 0, to: sequences.count, by: batchSize) {
            let chunk = sequences[start..<min(start + batchSize, sequences.count)].map { $0.map(Int32.init) }
            result += try scores(chunk, pad: pad).map(Double.init)
        }
        return result
    }

    // MARK: Files

    /// Saves the backbone as an ordinary model directory plus `reward_head.safetensors`.
    public func save(tokenizer: any Tokenizer, to directory: String, metadata: [String: String] = [:]) throws {
        try ModelDirectory.save(model: backbone, tokenizer: tokenizer, to: directory, metadata: metadata.merging(["stage": "reward"]) { a, _ in a })
        let c = width
        try Safetensors.write([NamedTensor(name: "reward_head.weight", shape: [1, c], values: Array(head.buffer[0..<c])),
                               NamedTensor(name: "reward_head.bias", shape: [1], values: [head[c]])],
                              metadata: ["format": Self.headFormat, "version": "1"], to: directory + "/" + Self.headFile)
    }

    public static func load(_ directory: String) throws -> (model: RewardModel, tokenizer: any Tokenizer) {
        let headPath = directory + "/" + headFile
        guard FileManager.default.fileExists(atPath: headPath) else {
            throw AlignmentError.missingDirectory("\(directory) (no \(headFile): not a reward model directory)")
        }
        let (backbone, tokenizer) = try ModelDirectory.load(directory)
        let (tensors, metadata) = try Safetensors.decode(try AtomicFile.read(headPath), path: headPath)
        guard metadata["format"] == headFormat else {
            throw AlignmentError.mismatch("\(headPath) is not a reward head (format \(metadata["format"] ?? "missing"))")
        }
        guard let weight = tensors.first(where: { $0.name == "reward_head.weight" }),
              let bias = tensors.first(where: { $0.name == "reward_head.bias" }), bias.values.count == 1 else {
            throw AlignmentError.mismatch("\(headPath) lacks reward_head.weight or reward_head.bias")
        }
        guard weight.values.count == backbone.config.width else {
            throw AlignmentError.mismatch("\(headPath) has a head of width \(weight.values.count), the backbone's width is \(backbone.config.width)")
        }
        return (try RewardModel(backbone: backbone, head: FloatBuffer(weight.values + bias.values)), tokenizer)
    }
}

