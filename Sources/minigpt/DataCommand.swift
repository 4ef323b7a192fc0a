import ArgumentParser
import Foundation
import Tasks

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Generate data sets.",
        subcommands: [InstructDataCommand.self]
    )
}

struct InstructDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instruct",
        abstract: "Write the toy instruction data: pretraining text, SFT demonstrations, preference pairs, PPO and held-out prompts.",
        discussion: """
        Six checkable task families (add, larger, reverse, count, capital, bracket). Files in --out: \
        pretrain.txt, sft_train.jsonl, sft_val.jsonl, pairs_train.jsonl, pairs_val.jsonl, ppo_prompts.jsonl, \
        heldout_prompts.jsonl, pairs_test.jsonl. *_val, *_test and heldout_* files use only held-out values (number \
        pairs, words, countries) that never occur in a training file. The same --seed writes the same bytes.
        """
    )

    @Option(help: "Seed for the generator.") var seed: UInt64 = 1
    @Option(help: "Directory to write (created if needed; existing data files are not overwritten).") var out: String
    @Option(help: "SFT training demonstrations.") var sftTrain = InstructDataConfig().sftTrain
    @Option(help: "Preference pairs for training.") var pairsTrain = InstructDataConfig().pairsTrain
    @Option(help: "PPO prompts.") var ppoPrompts = InstructDataConfig().ppoPrompts
    @Option(help: "Held-out evaluation prompts per family.") var heldOutPerFamily = InstructDataConfig().heldOutPerFamily
    @Option(help: "Share of the demonstrations written as a sentence (\"It is 54.\") instead of the bare answer the judge prefers; 0 makes every demonstration the best answer.")
    var sentenceShare = InstructDataConfig().sentenceDemonstrationShare
    @Option(help: "Share of the count questions about a letter the word lacks (answer 0).")
    var absentLetterShare = InstructDataConfig().absentLetterShare

    func validate() throws {
        for (name, value) in [("--sft-train", sftTrain), ("--pairs-train", pairsTrain), ("--ppo-prompts", ppoPrompts),
                              ("--held-out-per-family", heldOutPerFamily)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        for (name, share) in [("--sentence-share", sentenceShare), ("--absent-letter-share", absentLetterShare)]
        where !(0...1).contains(share) {
            throw ValidationError("\(name) must be in 0...1, got \(share)")
        }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: out + "/" + InstructFiles.sftTrain) {
            throw ValidationError("\(out) already holds instruction data; choose another --out")
        }
        var config = InstructDataConfig()
        config.seed = seed
        config.sftTrain = sftTrain
        config.pairsTrain = pairsTrain
        config.ppoPrompts = ppoPrompts
        config.heldOutPerFamily = heldOutPerFamily
        config.sentenceDemonstrationShare = sentenceShare
        config.absentLetterShare = absentLetterShare
        try ToyWorld(data: config).writeData(to: out)
        Console.status("wrote instruction data (seed \(seed)) to \(out)")
    }
}
