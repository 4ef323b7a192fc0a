import Core
import Foundation
import Generation
import Tokenizers

/// GPT-2's byte-level BPE in transformers' files: `vocab.json` (token text -> id, where each byte is
/// written as GPT-2's printable stand-in character) and `merges.txt` (`#version: 0.2`, then one
/// "left right" pair per line, merge i forming token 256 + i). These are GPT-2's released
/// `encoder.json` and `vocab.bpe` under other names, so loading goes through `BPETokenizer.loadGPT2`.
enum GPT2BPEFiles {
    static func load(vocabJSON: String, mergesTXT: String) throws -> any Tokenizer {
        try BPETokenizer.loadGPT2(encoderJSON: vocabJSON, vocabBPE: mergesTXT)
    }

    /// vocab.json, merges.txt and tokenizer_config.json for `GPT2Tokenizer`. Needs the GPT-2 pre-split
    /// pattern (any pattern when there are no merges: then it changes no id), the 256 single bytes as ids
    /// 0..<256, and no special token but `<|endoftext|>` and the chat template's markers. With the markers,
    /// tokenizer_config.json declares them special and carries the chat template (`chatTemplate`).
    static func files(for tokenizer: any Tokenizer, contextLength: Int) throws -> [String: Data] {
        func unsupported(_ reason: String) -> InteropError { .unsupported(path: "tokenizer", reason: reason) }
        guard let bpe = tokenizer as? BPETokenizer else {
            throw unsupported("\(type(of: tokenizer)) has no Hugging Face equivalent")
        }
        guard bpe.pattern == .gpt2 || bpe.tokens.count == 256 else {
            throw unsupported("the \(bpe.pattern.rawValue) pre-split pattern has no GPT2Tokenizer equivalent; only gpt2 is exported")
        }
        guard Set(bpe.specialTokens.keys).isSubset(of: [BPETokenizer.endOfText] + ChatTemplate.specialTokens) else {
            throw unsupported("special tokens other than <|endoftext|> and the chat markers (\(bpe.specialTokens.keys.sorted().joined(separator: ", ")))")
        }
        guard bpe.tokens.prefix(256).allSatisfy({ $0.count == 1 }) else {
            throw unsupported("ids 0..<256 are not the single bytes, which merges.txt requires")
        }
        let standIn = gpt2StandIns()
        func text(_ bytes: [UInt8]) -> String {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: bytes.map { standIn[Int($0)] })
            return String(scalars)
        }
        var vocabulary: [String: Int] = [:]
        for (id, token) in bpe.tokens.enumerated() { vocabulary[text(token)] = id }
        for (name, id) in bpe.specialTokens { vocabulary[name] = id }
        var rank: [[UInt8]: Int] = [:]
        for (id, token) in bpe.tokens.enumerated() { rank[token] = id }
        var merges = ["#version: 0.2"]
        for id in 256..<bpe.tokens.count {
            guard let (left, right) = mergedPair(bpe.tokens[id], below: id, rank: rank) else {
                throw unsupported("token \(id) is not the merge of two earlier tokens")
            }
            merges.append(text(left) + " " + text(right))
        }
        var config: [String: Any] = ["tokenizer_class": "GPT2Tokenizer", "model_max_length": contextLength,
                                     "add_prefix_space": false, "errors": "replace", "clean_up_tokenization_spaces": false]
        if bpe.endOfTextID != nil {
            for key in ["bos_token", "eos_token", "unk_token"] { config[key] = BPETokenizer.endOfText }
        }
        if (try? ChatTemplate(tokenizer: bpe)) != nil {
            var added: [String: Any] = [:]
            for (name, id) in bpe.specialTokens {
                added["\(id)"] = ["content": name, "special": true, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false]
            }
            config["added_tokens_decoder"] = added
            config["additional_special_tokens"] = ChatTemplate.specialTokens.filter { $0 != BPETokenizer.endOfText }
            config["chat_template"] = chatTemplate
        }
        return ["vocab.json": try JSONSerialization.data(withJSONObject: vocabulary, options: [.sortedKeys]),
                "merges.txt": Data((merges.joined(separator: "\n") + "\n").utf8),
                "tokenizer_config.json": try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])]
    }

    /// `ChatTemplate` in transformers' Jinja: each message is its role's marker, its text and `<|end|>`, no
    /// spaces or newlines between; a generation prompt ends with `<|assistant|>`.
    static let chatTemplate = "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"

    /// The two tokens whose merge forms `token`: byte-pair merging of its bytes with the tokens ranked
    /// below it (lowest rank first, leftmost on ties) stops at exactly two parts.
    static func mergedPair(_ token: [UInt8], below limit: Int, rank: [[UInt8]: Int]) -> ([UInt8], [UInt8])? {
        var parts = token.map { [$0] }
        while parts.count > 2 {
            var best: (index: Int, rank: Int)?
            for i in 0..<(parts.count - 1) {
                if let r = rank[parts[i] + parts[i + 1]], r < limit, r < (best?.rank ?? .max) { best = (i, r) }
            }
            guard let best else { return nil }
            parts[best.index] += parts[best.index + 1]
            parts.remove(at: best.index + 1)
        }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// GPT-2's printable stand-in for each byte: printable Latin-1 bytes stand for themselves, the other
    /// 68 map to U+0100, U+0101, ... in byte order.
    static func gpt2StandIns() -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        var extra: UInt32 = 0
        for byte in 0...255 {
            if (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte) {
                result.append(Unicode.Scalar(UInt32(byte))!)
            } else {
                result.append(Unicode.Scalar(256 + extra)!)
                extra += 1
            }
        }
        return result
    }
}
