import Core
import Foundation

/// The checkpoints of a training run, laid out so that a process killed at any instant (SIGKILL,
/// power aside) leaves the previous complete checkpoint loadable:
///
/// ```
/// RUN/
///   checkpoint.json                  pointer, replaced atomically: {"format": "minigpt-checkpoint", "version": 1,
///                                    "step": 120, "directory": "checkpoints/step-00000120"}
///   checkpoints/step-00000120/       config.json, model.safetensors, tokenizer.json, training_state.safetensors
///   checkpoints/step-00000100/       the previous checkpoint, kept until the next one is committed
///   metrics.jsonl
/// ```
///
/// A checkpoint is written into a fresh staging directory, every file flushed, the directory renamed
/// to `step-N`, and only then does the pointer switch (one `rename`). Whatever the pointer names is
/// therefore complete; anything else under `checkpoints/` is a leftover that the next commit removes.
/// `ModelDirectory.load` follows the pointer, so a run directory works wherever a model directory does,
/// and a plain model directory (the files at top level, no pointer) still loads as before.
public enum Checkpoints {
    public static let pointerFile = "checkpoint.json"
    public static let subdirectory = "checkpoints"
    public static let pointerFormat = "minigpt-checkpoint"
    public static let pointerVersion = 1

    public struct Pointer: Codable, Equatable, Sendable {
        public var format: String
        public var version: Int
        public var step: Int
        /// Relative to the run directory, always `checkpoints/step-NNNNNNNN`.
        public var directory: String
    }

    public static func directoryName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// The pointer of `runDirectory`, or nil when it has none (a plain model directory or a new run).
    public static func readPointer(runDirectory: String) throws -> Pointer? {
        let path = runDirectory + "/" + pointerFile
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try AtomicFile.read(path)
        guard data.count <= 4096 else { throw CoreError.badFormat(path: path, reason: "\(data.count) bytes is too large for a checkpoint pointer") }
        guard let pointer = try? JSONDecoder().decode(Pointer.self, from: data) else {
            throw CoreError.badFormat(path: path, reason: "not a MiniGPT checkpoint pointer (format, version, step, directory)")
        }
        guard pointer.format == pointerFormat, pointer.version == pointerVersion else {
            throw CoreError.badFormat(path: path, reason: "format \(pointer.format.debugDescription) version \(pointer.version), expected \(pointerFormat) version \(pointerVersion)")
        }
        guard pointer.step >= 0, pointer.directory == subdirectory + "/" + directoryName(step: pointer.step) else {
            throw CoreError.badFormat(path: path, reason: "directory \(pointer.directory.debugDescription) does not match step \(pointer.step)")
        }
        return pointer
    }

    /// The directory that holds the model files: the pointed-to checkpoint of a run directory, or
    /// `directory` itself when it has no pointer.
    public static func resolve(_ directory: String) throws -> String {
        try ModelDirectory.requireDirectory(directory)
        guard let pointer = try readPointer(runDirectory: directory) else { return directory }
        let resolved = directory + "/" + pointer.directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.badModelDirectory(path: directory, reason: "\(pointerFile) names \(pointer.directory), which is missing")
        }
        return resolved
    }

    /// Writes checkpoint `step` through `write(stagingDirectory)` and makes it the current one.
    /// Returns the committed directory. Committing the step the pointer already names does nothing.
    @discardableResult
    public static func commit(runDirectory: String, step: Int, write: (String) throws -> Void) throws -> String {
        let name = directoryName(step: step)
        let parent = runDirectory + "/" + subdirectory
        let target = parent + "/" + name
        let previous = try? readPointer(runDirectory: runDirectory)
        if let previous, previous.step == step, FileManager.default.fileExists(atPath: target) { return target }
        try ModelDirectory.createDirectory(parent)

        let staging = parent + "/.staging-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try ModelDirectory.createDirectory(staging)
        try write(staging)
        try AtomicFile.syncDirectory(staging)
        // A `step-N` not named by the pointer is a leftover of an earlier, abandoned attempt.
        if FileManager.default.fileExists(atPath: target) { try remove(target) }
        guard rename(staging, target) == 0 else {
            throw CoreError.writeFailed(path: target, reason: String(cString: strerror(errno)))
        }
        try AtomicFile.syncDirectory(parent)

        let pointer = Pointer(format: pointerFormat, version: pointerVersion, step: step, directory: subdirectory + "/" + name)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(pointer), to: runDirectory + "/" + pointerFile)
        try AtomicFile.syncDirectory(runDirectory)

        try prune(parent: parent, keep: [name] + (previous.map { [directoryName(step: $0.step)] } ?? []))
        return target
    }

    /// Removes everything under `checkpoints/` except the named directories (failures are ignored:
    /// a leftover is harmless and the next commit tries again).
    static func prune(parent: String, keep: [String]) throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for entry in entries where !keep.contains(entry) {
            try? FileManager.default.removeItem(atPath: parent + "/" + entry)
        }
    }

    private static func remove(_ path: String) throws {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw CoreError.writeFailed(path: path, reason: "cannot remove a stale checkpoint directory")
        }
    }
}
