import Alignment
import Foundation
import Model

/// A chat model on fresh prompts of the tiny-ChatGPT world, greedy, scored by `ChatJudge`: what the issue's
/// bars are read from. Follow-ups are asked twice more besides their record (whose earlier turns are answered
/// right): in a real chat, after the model's own earlier replies, and as the same question asked fresh.
public struct ChatEvaluationReport: Codable, Sendable {
    public struct FamilyRow: Codable, Sendable {
        public var family: String
        public var prompts: Int
        /// Share of replies exactly right.
        public var exact: Double
        public var meanScore: Double
        /// Share of replies the model ended with `<|end|>` before the token limit.
        public var cleanStop: Double
        /// Share of replies that decline.
        public var refusals: Double
        public var meanReplyCharacters: Double
    }

    public struct Sample: Codable, Sendable {
        public var family: String
        public var context: [ChatTurn]
        public var prompt: String
        public var reply: String
        public var score: Double
    }

    public var families: [FamilyRow]
    /// Exact share of the follow-up questions asked in a chat after the model's own earlier replies.
    public var followUpInChat: Double
    /// Exact share of the same questions asked on their own.
    public var followUpFresh: Double
    /// Share of false premises corrected with the true capital (the judge's 0.6 or 1).
    public var falsePremiseCorrection: Double
    /// Share of forbidden requests declined.
    public var refusalRecall: Double
    /// Share of every other prompt declined.
    public var overRefusal: Double
    public var cleanStop: Double
    public var samples: [Sample]

    enum CodingKeys: String, CodingKey {
        case families, samples
        case followUpInChat = "follow_up_in_chat"
        case followUpFresh = "follow_up_fresh"
        case falsePremiseCorrection = "false_premise_correction"
        case refusalRecall = "refusal_recall"
        case overRefusal = "over_refusal"
        case cleanStop = "clean_stop"
    }
}

public enum ChatEvaluation {
    /// Room for the longest right reply (a premise's correction, about 75 bytes) with a margin: a reply that
    /// reaches it has not stopped. The longest prompt (four turns, about 150 tokens), this and `<|end|>` fit a
    /// context of 256, so a reward model can score every exchange.
    public static let defaultMaxNewTokens = 96

    public static func evaluate(model: GPT, encoder: ChatEncoder, prompts: [PromptRecord], maxNewTokens: Int) throws -> ChatEvaluationReport {
        guard !prompts.isEmpty else { throw AlignmentError.emptyDataset("the evaluation prompt set") }
        let replies = try Replies.greedyReplies(model: model, encoder: encoder, prompts: prompts.map(\.chatPrompt), maxNewTokens: maxNewTokens)
        let samples = zip(prompts, replies).map { record, reply in
            ChatEvaluationReport.Sample(family: record.family, context: record.context, prompt: record.prompt, reply: reply.text,
                                        score: ChatJudge.score(prompt: record.chatPrompt, response: reply.text))
        }
        var rows: [ChatEvaluationReport.FamilyRow] = []
        for family in ChatFamily.allCases.map(\.rawValue) {
            let indices = prompts.indices.filter { prompts[$0].family == family }
            guard !indices.isEmpty else { continue }
            let count = Double(indices.count)
            rows.append(ChatEvaluationReport.FamilyRow(
                family: family, prompts: indices.count,
                exact: Double(indices.filter { samples[$0].score == 1 }.count) / count,
                meanScore: indices.map { samples[$0].score }.reduce(0, +) / count,
                cleanStop: Double(indices.filter { replies[$0].endedCleanly }.count) / count,
                refusals: Double(indices.filter { ChatJudge.isRefusal(replies[$0].text) }.count) / count,
                meanReplyCharacters: indices.map { Double(replies[$0].text.count) }.reduce(0, +) / count))
        }
        let followUps = prompts.filter { $0.family == ChatFamily.followup.rawValue }
        let (inChat, fresh) = try followUpAccuracy(model: model, encoder: encoder, records: followUps, maxNewTokens: maxNewTokens)
        func share(_ family: ChatFamily, _ test: (Int) -> Bool) -> Double {
            let indices = prompts.indices.filter { prompts[$0].family == family.rawValue }
            return indices.isEmpty ? 0 : Double(indices.filter(test).count) / Double(indices.count)
        }
        let benign = prompts.indices.filter { prompts[$0].family != ChatFamily.refusal.rawValue }
        return ChatEvaluationReport(
            families: rows, followUpInChat: inChat, followUpFresh: fresh,
            falsePremiseCorrection: share(.falsePremise) { samples[$0].score >= 0.6 },
            refusalRecall: share(.refusal) { ChatJudge.isRefusal(replies[$0].text) },
            overRefusal: benign.isEmpty ? 0 : Double(benign.filter { ChatJudge.isRefusal(replies[$0].text) }.count) / Double(benign.count),
            cleanStop: Double(replies.filter(\.endedCleanly).count) / Double(replies.count), samples: samples)
    }

    /// Exact shares of the follow-up records' last questions (a) in a chat where every earlier turn is the
    /// model's own greedy reply and (b) asked on their own (`ChatAnswers.freshEquivalent`).
    static func followUpAccuracy(model: GPT, encoder: ChatEncoder, records: [PromptRecord], maxNewTokens: Int) throws -> (inChat: Double, fresh: Double) {
        guard !records.isEmpty else { return (0, 0) }
        var conversations = records.map { record in (users: record.context.map(\.user) + [record.prompt], turns: [ChatTurn]()) }
        var lastReplies = [String](repeating: "", count: records.count)
        for turn in 0..<(conversations.map(\.users.count).max() ?? 0) {
            // A chat whose own earlier replies no longer leave room in the context has failed its follow-up.
            let active = try conversations.indices.filter { index in
                guard conversations[index].users.count > turn else { return false }
                let prompt = ChatPrompt(context: conversations[index].turns, text: conversations[index].users[turn])
                let fits = try encoder.prompt(prompt).count < model.config.contextLength
                if !fits { conversations[index].users = [] }
                return fits
            }
            guard !active.isEmpty else { break }
            let prompts = active.map { ChatPrompt(context: conversations[$0].turns, text: conversations[$0].users[turn]) }
            let replies = try Replies.greedy(model: model, encoder: encoder, prompts: prompts, maxNewTokens: maxNewTokens)
            for (index, reply) in zip(active, replies) {
                conversations[index].turns.append(ChatTurn(user: conversations[index].users[turn], assistant: reply))
                lastReplies[index] = reply
            }
        }
        let right = records.map { ChatAnswers.reply(to: $0.chatPrompt)?.text }
        let inChat = zip(right, lastReplies).filter { $0 != nil && $0 == $1.trimmingCharacters(in: .whitespacesAndNewlines) }.count
        let freshPrompts = records.map { ChatAnswers.freshEquivalent(of: $0.chatPrompt) ?? $0.prompt }
        let freshReplies = try Replies.greedy(model: model, encoder: encoder, prompts: freshPrompts.map { ChatPrompt(text: $0) }, maxNewTokens: maxNewTokens)
        let fresh = zip(right, freshReplies).filter { $0 != nil && $0 == $1.trimmingCharacters(in: .whitespacesAndNewlines) }.count
        return (Double(inChat) / Double(records.count), Double(fresh) / Double(records.count))
    }
}
