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

    /// The model in `directory`, which must read text as `tokenizer` (the one of the model in `other`) does.
    public static func load(_ directory: String, sameTokenizerAs tokenizer: any Tokenizer, of other: String) throws -> GPT {
        let (model, own) = try load(directory)
        try requireSameTokenizer(own, tokenizer, "the model in \(directory) uses a different tokenizer than the one in \(other)")
        return model
    }

    /// Throws `message` unless the two tokenizers have the same vocabulary size and split `probe` alike.
    public static func requireSameTokenizer(_ a: any Tokenizer, _ b: any Tokenizer, _ message: String) throws {
        guard try a.encode(probe) == b.encode(probe), a.vocabularySize == b.vocabularySize else { throw AlignmentError.mismatch(message) }
    }

    /// Text that exercises the special tokens and ordinary words, to compare two tokenizers.
    static let probe = "<|user|>What is 23 + 45? Reverse the letters: s t o n e<|end|><|assistant|>[stone]<|end|>"
}
