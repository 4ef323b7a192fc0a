import Foundation
import Model

/// Prompt + response token sequences laid out for teacher forcing as one right-padded (B, T) batch.
/// `positions[i]` are the flat rows (into B * T) whose targets are sequence i's response tokens, in order:
/// row p predicts response token k from everything before it, so the model's log-probability, hidden state
/// and logits at that row belong to the state in which token k was chosen.
public struct ResponseBatch {
    public var padded: PaddedBatch
    public var positions: [[Int]]

    public init(prompts: [[Int]], responses: [[Int]], pad: Int32) {
        var inputs: [[Int32]] = [], targets: [[Int32]] = []
        for (prompt, response) in zip(prompts, responses) {
            let sequence = (prompt + response).map(Int32.init)
            inputs.append(Array(sequence.dropLast()))
            targets.append(Array(sequence.dropFirst()))
        }
        padded = PaddedBatch(inputs: inputs, targets: targets, pad: pad)
        let time = padded.time
        positions = zip(prompts, responses).enumerated().map { row, pair in
            let first = pair.0.count - 1
            return (first..<first + pair.1.count).map { row * time + $0 }
        }
    }

    /// Every response position, sequence after sequence (the order of the flattened per-token arrays).
    public var flatPositions: [Int] { positions.flatMap { $0 } }

    /// What one forward pass of a model over the batch says about every response token, per sequence.
    public struct Evaluation {
        /// log pi(response token).
        public var logProbs: [[Double]]
        /// Entropy (nats) of the next-token distribution at each response position; empty unless asked for.
        public var entropies: [[Double]]
        /// The value head's V at each response position; empty without a head.
        public var values: [[Double]]
    }

    /// Runs `model` once on the batch and reads log-probabilities, and when asked entropies and values, from
    /// that same pass.
    public func evaluate(_ model: GPT, entropies withEntropies: Bool = false, valueHead: ValueHead? = nil) throws -> Evaluation {
        try model.forward(tokens: padded.tokens, targets: padded.targets, batch: padded.batch, time: padded.time)
        let losses = model.lastLosses
        return Evaluation(logProbs: positions.map { $0.map { -Double(losses[$0]) } },
                          entropies: withEntropies ? positions.map { $0.map { Self.entropy(model.logits(row: $0)) } } : [],
                          values: valueHead.map { head in positions.map { head.values(model: model, rows: $0) } } ?? [])
    }

    /// log pi(response token) per sequence.
    public func logProbs(_ model: GPT) throws -> [[Double]] { try evaluate(model).logProbs }

    /// -sum p log p of softmax(logits), in Double with the maximum subtracted first.
    static func entropy(_ logits: UnsafeBufferPointer<Float>) -> Double {
        let largest = Double(logits.max() ?? 0)
        var total = 0.0, weighted = 0.0
        for value in logits {
            let shifted = Double(value) - largest
            let e = exp(shifted)
            total += e
            weighted += e * shifted
        }
        return log(total) - weighted / total
    }
}
