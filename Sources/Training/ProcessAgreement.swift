import Foundation
import Model

extension Trainer {
    /// Processes that would train on different data, tokenizers or settings are refused before the first
    /// step: each one's fingerprints are compared, and the first that differs is named.
    func checkProcessesAgree() throws {
        guard processes.size > 1 else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let fingerprints: [(what: String, bytes: Data)] = [
            ("the corpus (give every process the same --corpus file)", Data(dataFingerprint.utf8)),
            ("the tokenizer", try tokenizer.serialized()),
            ("the model's shape", try encoder.encode(model.config)),
            ("the training settings", try encoder.encode(config)),
            ("the step to start from (resume every process from the same run directory)", Data(String(step).utf8)),
            ("the initial weights", Data(buffer: UnsafeBufferPointer(start: model.parameters.pointer, count: model.parameters.count))),
        ]
        for (what, bytes) in fingerprints where try !processes.allEqual(Trainer.fnv1a(bytes)) {
            throw TrainingError.processesDisagree(what)
        }
    }

    /// 64-bit FNV-1a: a fingerprint, not a defence against anyone crafting a collision.
    static func fnv1a(_ bytes: Data) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}
