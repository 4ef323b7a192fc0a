import Foundation
import Model
import Tokenizers

/// The model directories the alignment stages read and write.
public enum StageDirectory {
    /// A stage's model directory, or a training run's current checkpoint; a missing or incomplete
    /// directory is one `AlignmentError.missingDirectory` line.
    public static func load(_ directory: String) throws -> (model: GPT, tokenizer: any Tokenizer) {
        let files = (try? Checkpoints.resolve(directory)) ?? directory
        for file in [ModelDirectory.configFile, ModelDirectory.weightsFile, ModelDirectory.tokenizerFile]
        where !FileManager.default.fileExists(atPath: files + "/" + file) {
            throw AlignmentError.missingDirectory(directory)
        }
        return try ModelDirectory.load(files)
    }
}
