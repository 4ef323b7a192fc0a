import ArgumentParser
import Core
import Foundation
import Tokenizers

extension PreSplitPattern: ExpressibleByArgument {}

/// `minigpt tokenizer ...`: train, inspect and apply tokenizers, and turn corpora into token files.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train, apply and convert byte-level BPE tokenizers.",
        subcommands: [TokenizerTrain.self, TokenizerEncode.self, TokenizerDecode.self, TokenizerStats.self,
                      TokenizerPrepare.self, TokenizerExport.self, TokenizerImport.self, TokenizerBench.self]
    )
}

/// A failure found while a tokenizer command runs (ArgumentParser prints it as `Error: ...` without the
/// usage text it adds for `ValidationError`, which is for bad flags).
struct TokenizerCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Loads a tokenizer given on the command line: a MiniGPT tokenizer file (char or BPE), or a directory
/// holding GPT-2's `encoder.json` and `vocab.bpe`.
func loadTokenizer(_ path: String) throws -> any Tokenizer {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        return try BPETokenizer.loadGPT2(directory: path)
    }
    return try TokenizerFile.load(path)
}

/// At least one --input, each a readable file.
func validateInputs(_ paths: [String]) throws {
    guard !paths.isEmpty else { throw ValidationError("give at least one --input file") }
    for path in paths { try Preflight.readableFile(path, "--input") }
}

func readInputs(_ paths: [String]) throws -> [[UInt8]] {
    guard !paths.isEmpty else { throw ValidationError("give at least one --input file") }
    return try paths.map { [UInt8](try AtomicFile.read($0)) }
}

/// Encodes raw bytes with any tokenizer: BPE takes any bytes; others need valid UTF-8.
func encodeBytes(_ tokenizer: any Tokenizer, _ bytes: [UInt8], allowSpecial: Bool = false) throws -> [Int] {
    if let bpe = tokenizer as? BPETokenizer {
        if allowSpecial {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw TokenizerError.invalidArgument("--allow-special needs input that is valid UTF-8")
            }
            return try bpe.encode(text, allowedSpecial: Set(bpe.specialTokens.keys))
        }
        return bpe.encode(bytes: bytes)
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw TokenizerError.invalidArgument("this tokenizer needs input that is valid UTF-8")
    }
    return try tokenizer.encode(text)
}

struct TokenizerTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Learn a byte-level BPE vocabulary from text files.")

    @Option(name: .long, parsing: .upToNextOption, help: "Training text files (UTF-8 or any bytes).")
    var input: [String] = []
    @Option(name: .long, help: "Total vocabulary size: 256 bytes + merges + special tokens.")
    var vocabSize: Int
    @Option(name: .long, help: "Pre-split pattern: gpt2, gpt4 or gpt2-digits (GPT-2's with one digit per chunk).")
    var pattern: PreSplitPattern = .gpt4
    @Option(name: .long, help: "Extra special token (repeatable); <|endoftext|> is always added.")
    var special: [String] = []
    @Option(name: .long, help: "Where to write the tokenizer file.")
    var out: String

    func validate() throws {
        try validateInputs(input)
        try Preflight.newFile(out, "--out")
    }

    func run() throws {
        let corpus = try readInputs(input)
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try BPETrainer.train(corpus: corpus, vocabularySize: vocabSize, pattern: pattern, specialTokens: special)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try TokenizerFile.save(result.tokenizer, to: out)
        let bytes = corpus.reduce(0) { $0 + $1.count }
        Console.line("trained \(result.tokenizer.vocabularySize) tokens (\(result.mergeCount) merges, \(result.tokenizer.specialTokens.count) special) "
              + "on \(bytes) bytes, \(result.distinctChunks) distinct chunks, in \(String(format: "%.2f", seconds)) s -> \(out)")
        if result.stoppedEarly {
            Console.line("note: the text ran out of pairs to merge before reaching --vocab-size \(vocabSize)")
        }
    }
}

struct TokenizerEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Read text on stdin, print its token ids on one line.")

    @Option(name: .long, help: "Tokenizer file, or a directory with GPT-2's encoder.json and vocab.bpe.")
    var tokenizer: String
    @Flag(name: .long, help: "Turn special-token text (e.g. <|endoftext|>) in the input into special ids. Off by default.")
    var allowSpecial = false

    func validate() throws { try Preflight.readablePath(tokenizer, "--tokenizer") }

    func run() throws {
        let tokenizer = try loadTokenizer(tokenizer)
        let input = try StandardStreams.readInput()
        let ids = try encodeBytes(tokenizer, input, allowSpecial: allowSpecial)
        Console.out(ids.map(String.init).joined(separator: " ") + "\n")
    }
}

struct TokenizerDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Read token ids (separated by spaces or newlines) on stdin, write the bytes they stand for.")

    @Option(name: .long, help: "Tokenizer file, or a directory with GPT-2's encoder.json and vocab.bpe.")
    var tokenizer: String

    func validate() throws { try Preflight.readablePath(tokenizer, "--tokenizer") }

    func run() throws {
        let tokenizer = try loadTokenizer(tokenizer)
        let text = String(decoding: try StandardStreams.readInput(), as: UTF8.self)
        var ids: [Int] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "," }) {
            guard let id = Int(word) else { throw TokenizerCommandError("\(String(word.prefix(40)).debugDescription) is not a token id") }
            ids.append(id)
        }
        StandardStreams.writeOutput(try tokenizer.decodeBytes(ids))
    }
}

struct TokenizerStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Count tokens, bytes per token and the most frequent tokens of text files.")

    @Option(name: .long, help: "Tokenizer file, or a directory with GPT-2's encoder.json and vocab.bpe.")
    var tokenizer: String
    @Option(name: .long, parsing: .upToNextOption, help: "Text files.")
    var input: [String] = []
    @Option(name: .long, help: "How many of the most frequent tokens to list.")
    var top = 20

    func validate() throws {
        try Preflight.readablePath(tokenizer, "--tokenizer")
        try validateInputs(input)
        guard top >= 0 else { throw ValidationError("--top must not be negative") }
    }

    func run() throws {
        let tokenizer = try loadTokenizer(tokenizer)
        var counts = [Int](repeating: 0, count: tokenizer.vocabularySize)
        var totalTokens = 0, totalBytes = 0
        for (path, bytes) in zip(input, try readInputs(input)) {
            guard !bytes.isEmpty else { throw TokenizerError.emptyInput(path) }
            let ids = try encodeBytes(tokenizer, bytes)
            for id in ids { counts[id] += 1 }
            totalTokens += ids.count
            totalBytes += bytes.count
            Console.line("\(path): \(bytes.count) bytes, \(ids.count) tokens, \(String(format: "%.3f", Double(bytes.count) / Double(ids.count))) bytes/token")
        }
        if input.count > 1 {
            Console.line("total: \(totalBytes) bytes, \(totalTokens) tokens, \(String(format: "%.3f", Double(totalBytes) / Double(totalTokens))) bytes/token")
        }
        let used = counts.filter { $0 > 0 }.count
        Console.line("distinct tokens used: \(used) of \(tokenizer.vocabularySize)")
        let ranked = counts.enumerated().filter { $0.element > 0 }
            .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }.prefix(top)
        if !ranked.isEmpty { Console.line("most frequent tokens (id, count, share, text):") }
        for (id, count) in ranked {
            let text = String(decoding: try tokenizer.decodeBytes([id]), as: UTF8.self)
            Console.line(String(format: "%7d %9d %6.2f%%  ", id, count, 100 * Double(count) / Double(totalTokens)) + text.debugDescription)
        }
    }
}

struct TokenizerPrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize a corpus into a binary token file that training reads without tokenizing again.",
        discussion: """
        Inputs are files or directories (every non-hidden, non-empty file under a directory, in path order). The text \
        is streamed: read in pieces cut where encoding them apart gives the same ids as encoding the file whole, \
        encoded on all threads and appended to the file, so memory stays near --threads x 2 MB whatever the corpus \
        size. Special-token text is not recognised; <|endoftext|> separates the files when the tokenizer has it. \
        The token file appears only when complete; progress (MB/s, ETA) goes to stderr.
        """)

    @Option(name: .long, help: "Tokenizer file, or a directory with GPT-2's encoder.json and vocab.bpe.")
    var tokenizer: String
    @Option(name: .long, parsing: .upToNextOption, help: "Text files or directories.")
    var input: [String] = []
    @Option(name: .long, help: "Output token file (e.g. corpus.bin).")
    var out: String
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        try Preflight.readablePath(tokenizer, "--tokenizer")
        guard !input.isEmpty else { throw ValidationError("give at least one --input file or directory") }
        for path in input { try Preflight.readablePath(path, "--input") }
        try Preflight.newFile(out, "--out")
    }

    func run() throws {
        let tokenizer = try loadTokenizer(tokenizer)
        let files = try CorpusPreparer.inputFiles(input)
        let header = try prepareTokenFile(files: files, tokenizer: tokenizer, out: out, threads: threadOptions.threads)
        let bytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        Console.line("wrote \(header.count) tokens (uint\(header.width * 8), vocabulary \(tokenizer.vocabularySize)) from \(bytes) bytes "
              + "in \(files.count) file\(files.count == 1 ? "" : "s") to \(out)")
    }
}

/// Streams `files` into the token file `out` (see `CorpusPreparer`). A run longer than two seconds shows
/// its progress on stderr: a live line on a terminal, a line every ten seconds otherwise.
@discardableResult
func prepareTokenFile(files: [String], tokenizer: any Tokenizer, out: String, threads: Int) throws -> TokenFile.Header {
    let started = Date()
    var lastShown: Date?
    let header = try CorpusPreparer(tokenizer: tokenizer, threads: threads).prepare(files: files, to: out) { progress in
        let now = Date(), seconds = now.timeIntervalSince(started)
        guard seconds >= 2, Console.isTerminal || now.timeIntervalSince(lastShown ?? started) >= 10 else { return }
        lastShown = now
        let megabytes = Double(progress.bytesDone) / 1e6, rate = megabytes / seconds
        let line = String(format: "prepare: %.0f of %.0f MB, %.1f MB/s, %@ tokens, ETA %@", megabytes, Double(progress.bytesTotal) / 1e6,
                          rate, formatCount(progress.tokens), formatDuration(Double(progress.bytesTotal - progress.bytesDone) / 1e6 / rate))
        if Console.isTerminal { Console.overwrite(line) } else { Console.status(line) }
    }
    if lastShown != nil && Console.isTerminal { Console.status("") }
    return header
}

struct TokenizerExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a BPE tokenizer's ranks as a .tiktoken file (special tokens and pattern are not part of that format: import needs them again).")

    @Option(name: .long, help: "BPE tokenizer file, or a directory with GPT-2's encoder.json and vocab.bpe.")
    var tokenizer: String
    @Option(name: .long, help: "Output .tiktoken file.")
    var out: String

    func validate() throws {
        try Preflight.readablePath(tokenizer, "--tokenizer")
        try Preflight.newFile(out, "--out")
    }

    func run() throws {
        guard let bpe = try loadTokenizer(tokenizer) as? BPETokenizer else {
            throw TokenizerCommandError("\(tokenizer) is not a BPE tokenizer; only BPE vocabularies have a .tiktoken form")
        }
        try bpe.saveTiktoken(to: out)
        let specials = bpe.specialTokens.sorted { $0.value < $1.value }.map { " --special '\($0.key)'" }.joined()
        Console.line("wrote \(bpe.tokens.count) ranks to \(out); import it with: minigpt tokenizer import --tiktoken \(out) "
                     + "--pattern \(bpe.pattern.rawValue)\(specials) --out FILE")
    }
}

struct TokenizerImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Convert a .tiktoken rank file or GPT-2's encoder.json + vocab.bpe into a MiniGPT tokenizer file.")

    @Option(name: .long, help: "A .tiktoken rank file.")
    var tiktoken: String?
    @Option(name: .long, help: "A directory with GPT-2's encoder.json and vocab.bpe.")
    var gpt2: String?
    @Option(name: .long, help: "Pre-split pattern of a .tiktoken file (required: the format does not record it): gpt2, gpt4 or gpt2-digits.")
    var pattern: PreSplitPattern?
    @Option(name: .long, help: "Special tokens for a .tiktoken file, numbered after the ranks in this order (default <|endoftext|>).")
    var special: [String] = []
    @Option(name: .long, help: "Where to write the MiniGPT tokenizer file.")
    var out: String

    func validate() throws {
        guard (tiktoken == nil) != (gpt2 == nil) else { throw ValidationError("give exactly one of --tiktoken FILE or --gpt2 DIR") }
        if let tiktoken {
            try Preflight.readableFile(tiktoken, "--tiktoken")
            // A default here would silently change how text is split after an export/import round trip.
            guard pattern != nil else {
                throw ValidationError("--tiktoken needs --pattern (gpt2, gpt4 or gpt2-digits): a .tiktoken file does not record how text is pre-split")
            }
        }
        if let gpt2 {
            try Preflight.existingDirectory(gpt2, "--gpt2")
            guard pattern == nil, special.isEmpty else { throw ValidationError("--pattern and --special apply to --tiktoken only; GPT-2's files fix both") }
        }
        try Preflight.newFile(out, "--out")
    }

    func run() throws {
        let tokenizer: BPETokenizer
        if let tiktoken, let pattern {
            tokenizer = try BPETokenizer.loadTiktoken(tiktoken, pattern: pattern,
                                                      specialTokens: special.isEmpty ? [BPETokenizer.endOfText] : special)
        } else if let gpt2 {
            tokenizer = try BPETokenizer.loadGPT2(directory: gpt2)
        } else {
            throw ValidationError("give exactly one of --tiktoken FILE or --gpt2 DIR")
        }
        try TokenizerFile.save(tokenizer, to: out)
        Console.line("wrote \(tokenizer.vocabularySize) tokens (pattern \(tokenizer.pattern.rawValue)) to \(out)")
    }
}
