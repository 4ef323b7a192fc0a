import ArgumentParser
import Foundation
import Core
import Tasks

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Generate data sets.",
        subcommands: [ChatDataCommand.self, InstructDataCommand.self, PretrainDataCommand.self]
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

struct PretrainDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Write the tiny-ChatGPT world's pretraining corpus: its facts and skills on many values, as plain text.",
        discussion: """
        One line per fact or worked example (sums, comparisons, spelling, reversing, counting and bracketing letters, \
        capitals, follow-up questions, corrected premises), only ever with training values: held-out number pairs, \
        letter strings and countries' questions never occur. The same --seed and --megabytes write the same bytes.
        """
    )

    @Option(help: "Seed for the generator.") var seed: UInt64 = 1
    @Option(help: "Size of the corpus in megabytes (10^6 bytes).") var megabytes = 24
    @Option(help: "File to write (must not exist yet).") var out: String

    func validate() throws {
        // The text is built in memory before its atomic write: 1 GB is far beyond what a 2-hour pretraining reads.
        guard (1...1024).contains(megabytes) else { throw ValidationError("--megabytes must be in 1...1024, got \(megabytes)") }
    }

    func run() throws {
        guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) already exists; choose another --out") }
        var corpus = ChatPretrainingCorpus(seed: seed)
        try AtomicFile.write(corpus.text(bytes: megabytes * 1_000_000), to: out)
        Console.status("wrote \(megabytes) MB of pretraining text (seed \(seed)) to \(out)")
    }
}

struct ChatDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Write the tiny-ChatGPT data: demonstrations (multi-turn included), preference pairs, PPO prompts and fresh evaluation prompts.",
        discussion: """
        Thirteen checkable families: the six skills, follow-up conversations, true and false premises, forbidden \
        requests and their benign look-alikes, greetings and unknown questions. Files in --out as for `data instruct`. \
        *_val, *_test and heldout_* files use only held-out values; a --seed no training run used draws a fresh \
        evaluation set. The same --seed writes the same bytes.
        """
    )

    @Option(help: "Seed for the generator.") var seed: UInt64 = 1
    @Option(help: "Directory to write (created if needed; existing data files are not overwritten).") var out: String
    @Option(help: "SFT training demonstrations.") var sftTrain = ChatDataConfig().sftTrain
    @Option(help: "Preference pairs for training.") var pairsTrain = ChatDataConfig().pairsTrain
    @Option(help: "PPO prompts.") var ppoPrompts = ChatDataConfig().ppoPrompts
    @Option(help: "Fresh evaluation prompts per family.") var heldOutPerFamily = ChatDataConfig().heldOutPerFamily
    @Option(help: "Megabytes of pretraining text written beside the data (for a base pretrained from scratch).")
    var pretrainMegabytes = ChatDataConfig().pretrainMegabytes

    func validate() throws {
        // Bounded so a typo cannot ask for hours of generation (held-out prompts retry up to 50 draws each).
        for (name, value, limit) in [("--sft-train", sftTrain, 1_000_000), ("--pairs-train", pairsTrain, 1_000_000),
                                     ("--ppo-prompts", ppoPrompts, 1_000_000), ("--held-out-per-family", heldOutPerFamily, 10_000)]
        where !(1...limit).contains(value) {
            throw ValidationError("\(name) must be in 1...\(limit), got \(value)")
        }
        guard (1...1024).contains(pretrainMegabytes) else { throw ValidationError("--pretrain-megabytes must be in 1...1024, got \(pretrainMegabytes)") }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: out + "/" + InstructFiles.sftTrain) {
            throw ValidationError("\(out) already holds instruction data; choose another --out")
        }
        var config = ChatDataConfig()
        config.seed = seed
        config.sftTrain = sftTrain
        config.pairsTrain = pairsTrain
        config.ppoPrompts = ppoPrompts
        config.heldOutPerFamily = heldOutPerFamily
        config.pretrainMegabytes = pretrainMegabytes
        try ChatWorld(data: config).writeData(to: out)
        Console.status("wrote tiny-ChatGPT data (seed \(seed)) to \(out)")
    }
}
