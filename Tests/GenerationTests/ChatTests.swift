import Core
import Generation
import Model
import TestSupport
import Tokenizers
import XCTest

final class ChatTests: XCTestCase {
    let characters = "abcdefghirsy ?!.\n"

    func testTemplateEncodesMarkersAsSingleIDs() throws {
        let tokenizer = try CharTokenizerWithSpecials(characters: characters)
        let template = try ChatTemplate(tokenizer: tokenizer)
        let messages = [ChatTemplate.Message(role: .system, text: "be"), ChatTemplate.Message(role: .user, text: "hi"),
                        ChatTemplate.Message(role: .assistant, text: "ah")]
        let ids = try template.encode(messages, tokenizer: tokenizer, promptAssistant: true)
        let s = template.systemID, u = template.userID, a = template.assistantID, e = template.endID
        XCTAssertEqual(ids, [s] + (try tokenizer.encode("be")) + [e, u] + (try tokenizer.encode("hi")) + [e, a]
                       + (try tokenizer.encode("ah")) + [e, a])
        XCTAssertEqual(template.render(messages, promptAssistant: false), "<|system|>be<|end|><|user|>hi<|end|><|assistant|>ah<|end|>")
        // Training: the loss covers predicting the reply's content and its <|end|>, nothing else.
        let (tokens, trained) = try template.encodeForTraining(messages, tokenizer: tokenizer)
        XCTAssertEqual(tokens.last, template.endOfTextID)
        let targets = tokens.indices.filter { trained[$0] }.map { tokens[$0 + 1] }
        XCTAssertEqual(targets, (try tokenizer.encode("ah")) + [e])
    }

    func testModelWithoutChatTokensGetsAOneLineError() throws {
        let plain = try CharTokenizer(characters: Array(characters.unicodeScalars))
        XCTAssertThrowsError(try ChatTemplate(tokenizer: plain)) { error in
            XCTAssertTrue("\(error)".contains("<|assistant|>"), "\(error)")
        }
        XCTAssertThrowsError(try ChatTemplate(specialTokenIDs: ["<|endoftext|>": 3])) { error in
            XCTAssertTrue("\(error)".contains("<|system|>"), "\(error)")
        }
    }

    /// Several turns: replies never contain markers, the same seed replays the conversation, /reset starts
    /// over, and when the history outgrows the context the oldest exchanges go and the system prompt stays.
    func testConversationTurnsTrimmingAndReset() throws {
        let tokenizer = try CharTokenizerWithSpecials(characters: characters)
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 40)
        func newChat() throws -> ChatSession {
            try ChatSession(model: model, tokenizer: tokenizer, system: "be brief", sampling: SamplingConfig(temperature: 1, seed: 3),
                            maxNewTokens: 8)
        }
        let chat = try newChat()
        var replies: [String] = []
        var streamed = ""
        for message in ["hi", "ah hee", "?", "bad egg", "a b c d"] {
            streamed = ""
            let reply = try chat.respond(to: message) { streamed += $0 }
            XCTAssertEqual(streamed, reply.text)
            XCTAssertFalse(reply.text.contains("<|"))
            replies.append(reply.text)
            let prompt = try ChatTemplate(tokenizer: tokenizer).encode(
                [ChatTemplate.Message(role: .system, text: "be brief")] + chat.turns, tokenizer: tokenizer, promptAssistant: false)
            XCTAssertLessThanOrEqual(prompt.count, 40 + 1)
        }
        XCTAssertGreaterThan(chat.droppedTurns, 0, "five turns of up to 20 tokens cannot fit a context of 40")
        XCTAssertEqual(chat.turns.first?.role, .user)
        XCTAssertEqual(chat.turns.last?.role, .assistant)
        XCTAssertEqual(chat.system, "be brief")

        let replay = try newChat()
        XCTAssertEqual(try ["hi", "ah hee"].map { try replay.respond(to: $0).text }, Array(replies[0...1]))
        replay.reset()
        XCTAssertTrue(replay.turns.isEmpty)
        XCTAssertEqual(try replay.respond(to: "hi").text, replies[0])

        // A message that cannot fit with the system prompt and the reply reserve is refused and not kept.
        let before = chat.turns
        XCTAssertThrowsError(try chat.respond(to: String(repeating: "a", count: 30))) { error in
            XCTAssertTrue("\(error)".contains("too long"), "\(error)")
        }
        XCTAssertEqual(chat.turns, before)
        XCTAssertThrowsError(try chat.respond(to: ""))
    }

    func testRejectsBadSettings() throws {
        let tokenizer = try CharTokenizerWithSpecials(characters: characters)
        let model = try makeRandomModel(vocabularySize: tokenizer.vocabularySize, contextLength: 40)
        XCTAssertThrowsError(try ChatSession(model: model, tokenizer: tokenizer, sampling: SamplingConfig(topP: 0), maxNewTokens: 8))
        XCTAssertThrowsError(try ChatSession(model: model, tokenizer: tokenizer, sampling: SamplingConfig(temperature: -1), maxNewTokens: 8))
        XCTAssertThrowsError(try ChatSession(model: model, tokenizer: tokenizer, sampling: SamplingConfig(), maxNewTokens: 0))
        XCTAssertThrowsError(try ChatSession(model: model, tokenizer: tokenizer, system: "", sampling: SamplingConfig(), maxNewTokens: 8))
    }
}
