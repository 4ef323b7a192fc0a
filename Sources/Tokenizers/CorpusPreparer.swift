import Core
import Dispatch
import Foundation

/// How far a `CorpusPreparer.prepare` call has got, for a progress line.
public struct PrepareProgress: Sendable {
    public var bytesDone: Int
    public var bytesTotal: Int
    public var tokens: Int
}

/// Turns text files of any size into one token file, streaming: the text is read in pieces cut at safe
/// places (`SafeCut`, so the ids equal those of encoding each file whole), a round of pieces is encoded
/// on all threads, and the ids are appended to the file in order. Memory holds one round: about
/// `threads * pieceBytes` of text and its ids, whatever the corpus size.
public struct CorpusPreparer {
    public let tokenizer: any Tokenizer
    /// Target size of one piece of text (a piece ends at the last safe cut before it).
    public var pieceBytes = 2 << 20
    /// A piece grows past `pieceBytes` only while no safe cut is found; beyond this the input is refused.
    public var maxPieceBytes = 64 << 20
    public var threads: Int

    public init(tokenizer: any Tokenizer, threads: Int) {
        self.tokenizer = tokenizer
        self.threads = max(1, threads)
    }

    /// The files behind `paths`: a file as it is, a directory as every regular, non-hidden, non-empty
    /// file under it, in path order.
    public static func inputFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CoreError.fileNotFound(path: path) }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let names = FileManager.default.enumerator(atPath: path)?.allObjects as? [String] else {
                throw CoreError.readFailed(path: path, reason: "cannot list the directory")
            }
            let found = names.filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }.sorted()
                .map { path + "/" + $0 }
                .filter { (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular && fileSize($0) > 0 }
            guard !found.isEmpty else { throw TokenizerError.emptyInput("directory \(path)") }
            files += found
        }
        return files
    }

    /// Encodes `files` as ordinary text (special-token text in them is not recognised) into the token
    /// file `out`, with the tokenizer's `<|endoftext|>` between files when it has one. The file appears
    /// only when complete.
    @discardableResult
    public func prepare(files: [String], to out: String, progress: (PrepareProgress) -> Void = { _ in }) throws -> TokenFile.Header {
        guard !files.isEmpty else { throw TokenizerError.invalidArgument("no input files") }
        let writer = try TokenFileWriter(path: out, vocabularySize: tokenizer.vocabularySize)
        var status = PrepareProgress(bytesDone: 0, bytesTotal: files.reduce(0) { $0 + Self.fileSize($1) }, tokens: 0)
        var reader = try PieceReader(files: files, pieceBytes: pieceBytes, maxPieceBytes: maxPieceBytes)
        let roundBytes = min(threads, 16) * pieceBytes
        while true {
            var round: [Piece] = []
            var bytes = 0
            while bytes < roundBytes, let piece = try reader.next() {
                round.append(piece)
                bytes += piece.bytes.count
            }
            guard !round.isEmpty else { break }
            let encoded = try encode(round)
            for (piece, ids) in zip(round, encoded) {
                if piece.startsDocument && piece.document > 0, let separator = tokenizer.endOfTextID { try writer.append([separator]) }
                try writer.append(ids)
            }
            status.bytesDone += bytes
            status.tokens = writer.count
            progress(status)
        }
        return try writer.finish(documents: files.count)
    }

    /// Every distinct character of `files` in code point order (a character vocabulary, as `CharTokenizer(corpus:)`
    /// builds), read a piece at a time; the files must be UTF-8.
    public static func distinctCharacters(in files: [String]) throws -> [Unicode.Scalar] {
        var seen = Set<UInt32>()
        var reader = try PieceReader(files: files, pieceBytes: 1 << 20, maxPieceBytes: 64 << 20)
        while let piece = try reader.next() {
            guard let text = String(validating: piece.bytes, as: UTF8.self) else { throw Self.notUTF8(piece) }
            for scalar in text.unicodeScalars { seen.insert(scalar.value) }
        }
        return seen.sorted().compactMap(Unicode.Scalar.init)
    }

    private static func notUTF8(_ piece: Piece) -> CoreError {
        .badFormat(path: piece.path, reason: "the text is not valid UTF-8 (somewhere after byte \(piece.offset)), which a character vocabulary needs")
    }

    /// Encodes the pieces of one round, spread over the threads; ids come back in piece order.
    private func encode(_ pieces: [Piece]) throws -> [[Int]] {
        let results = UnsafeMutableBufferPointer<Result<[Int], Error>>.allocate(capacity: pieces.count)
        results.initialize(repeating: .success([]))
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let workers = min(threads, pieces.count)
        let work = { (worker: Int) in
            for index in stride(from: worker, to: pieces.count, by: workers) {
                results[index] = Result { try self.encode(pieces[index]) }
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        return try results.map { try $0.get() }
    }

    private func encode(_ piece: Piece) throws -> [Int] {
        if let bpe = tokenizer as? BPETokenizer { return piece.bytes.withUnsafeBufferPointer { bpe.encodeOrdinary($0) } }
        guard let text = String(validating: piece.bytes, as: UTF8.self) else { throw Self.notUTF8(piece) }
        return try tokenizer.encode(text)
    }

    static func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}

/// A run of one file's bytes that can be encoded on its own.
struct Piece {
    var bytes: [UInt8]
    var path: String
    var document: Int
    /// Byte offset of the piece in its file.
    var offset: Int
    var startsDocument: Bool { offset == 0 }
}

/// Reads files one after another and hands out pieces of about `pieceBytes` each, cut at safe places.
struct PieceReader {
    let files: [String]
    let pieceBytes: Int
    let maxPieceBytes: Int
    private var document = -1
    private var handle: FileHandle?
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var endOfFile = true

    init(files: [String], pieceBytes: Int, maxPieceBytes: Int) throws {
        self.files = files
        self.pieceBytes = max(1, pieceBytes)
        self.maxPieceBytes = max(self.pieceBytes, maxPieceBytes)
    }

    /// The next piece, or nil when every file has been read.
    mutating func next() throws -> Piece? {
        var limit = pieceBytes
        while true {
            try fill(to: limit + 4)
            if pending.isEmpty {
                guard try openNextFile() else { return nil }
                continue
            }
            if endOfFile && pending.count <= limit { return take(pending.count) }
            if let cut = pending.withUnsafeBufferPointer({ SafeCut.last(in: $0, notAfter: limit) }) { return take(cut) }
            guard limit < maxPieceBytes else {
                throw CoreError.badFormat(path: files[document], reason: "no place to split it in \(maxPieceBytes >> 20) MB after byte \(pendingOffset) (one word or run of spaces that long?)")
            }
            limit = min(limit * 2, maxPieceBytes)
        }
    }

    /// Moves to the next file; false when there is none.
    private mutating func openNextFile() throws -> Bool {
        try? handle?.close()
        handle = nil
        document += 1
        guard document < files.count else { return false }
        try open(files[document])
        return true
    }

    private mutating func open(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CoreError.fileNotFound(path: path) }
        guard !isDirectory.boolValue, let opened = FileHandle(forReadingAtPath: path) else {
            throw CoreError.readFailed(path: path, reason: isDirectory.boolValue ? "it is a directory" : "permission denied")
        }
        handle = opened
        endOfFile = false
        pendingOffset = 0
        try fill(to: 1)
        guard !pending.isEmpty else { throw TokenizerError.emptyInput(path) }
    }

    private mutating func fill(to wanted: Int) throws {
        while !endOfFile && pending.count < wanted {
            let data: Data?
            do { data = try handle?.read(upToCount: max(wanted - pending.count, 1 << 16)) } catch {
                throw CoreError.readFailed(path: files[document], reason: "\(error.localizedDescription)")
            }
            guard let data, !data.isEmpty else {
                endOfFile = true
                return
            }
            pending.append(contentsOf: data)
        }
    }

    private mutating func take(_ count: Int) -> Piece {
        let piece = Piece(bytes: Array(pending[0..<count]), path: files[document], document: document, offset: pendingOffset)
        pending.removeFirst(count)
        pendingOffset += count
        return piece
    }
}
