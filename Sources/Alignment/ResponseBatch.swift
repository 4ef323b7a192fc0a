import Foundation
import Model

/// Prompt + response token sequences laid out for teacher forcing as one right-padded (B, T) batch.
/// `positions[i]` are the flat rows (into B * T) whose targets are sequence i's response tokens, in order:
/// row p predicts response token k from everything before it, so the model's log-probability, hidden state
/// and logits at that row belong to the state in which token k was chosen.
struct ResponseBatch {
    var padded: PaddedBatch
    var positions: [[Int]]

    init(prompts: [[Int]], responses: [[Int]], pad: Int32) {
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
    var flatPositions: [Int] { positions.flatMap { $0 } }

    /// 1 at response positions, 0 elsewhere (B * T).
    var mask: [Bool] {
        var mask = [Bool](repeating: false, count: padded.batch * padded.time)
        for position in flatPositions { mask[position] = true }
        return mask
    }

    /// Runs `model` on the batch and returns log pi(response token) per sequence.
    func logProbs(_ model: GPT) throws -> [[Double]] {
        try model.forward(tokens: padded.tokens, targets: padded.targets, batch: padded.batch, time: padded.time)
        let losses = model.lastLosses
        return positions.map { $0.map { -Double(losses[$0]) } }
    }

    /// Entropy (nats) of `model`'s next-token distribution at every response position of its last forward pass.
    func entropies(_ model: GPT) -> [[Double]] {
        positions.map { rows in
            rows.map { row in
                let logits = model.logits(row: row)
                let largest = Double(logits.max() ?? 0)
                var total = 0.0, weighted = 0.0
                for value in logits {
                    let shifted = Double(value) - largest
                    let e = exp(shifted)
                    total += e
                    weighted += e * shifted
                }
                return log(total) - weighted / total  // -sum p log p with p = e / total
            }
        }
    }
}
