import Foundation
import Alignment

/// A world of checkable tasks, everything the pipeline needs that the algorithms must not know: it writes
/// the data directory (`InstructFiles`), and as the labeler it scores replies and knows the right ones. A new
/// task family (multi-turn follow-ups, false premises, refusals) plugs in by conforming here, or by adding a
/// family to a world that does.
public protocol TaskWorld: Labeler {
    /// The family labels of this world's records, in report order.
    var families: [String] { get }
    /// The one right reply to `prompt`, nil when the prompt is not one of this world's.
    func answer(to prompt: ChatPrompt) -> String?
    /// Writes every data file into `directory` (created if needed); the same world writes the same bytes.
    func writeData(to directory: String) throws
}

extension TaskWorld {
    /// Whether `response`, trimmed, is exactly the right reply.
    public func isExact(prompt: ChatPrompt, response: String) -> Bool {
        answer(to: prompt).map { response.trimmingCharacters(in: .whitespacesAndNewlines) == $0 } ?? false
    }
}

/// The toy world of six task families (`TaskFamily`) over `InstructWorld`'s fixed numbers, words and
/// invented countries, with `GoldJudge` as its labeler.
public struct ToyWorld: TaskWorld {
    public var data: InstructDataConfig

    public init(data: InstructDataConfig = InstructDataConfig()) {
        self.data = data
    }

    public var families: [String] { TaskFamily.allCases.map(\.rawValue) }

    /// Single-turn only: a prompt with earlier turns is not one of this world's.
    public func score(prompt: ChatPrompt, response: String) -> Double {
        prompt.context.isEmpty ? GoldJudge.score(prompt: prompt.text, response: response) : 0
    }

    public func answer(to prompt: ChatPrompt) -> String? {
        prompt.context.isEmpty ? InstructWorld.parse(prompt: prompt.text)?.answer : nil
    }

    public func writeData(to directory: String) throws {
        var generator = InstructDataGenerator(config: data)
        try generator.write(to: directory)
    }
}
