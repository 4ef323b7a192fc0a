import Core
import Foundation
import Generation
import Interop
import Model
import TestSupport
import Tokenizers
import XCTest

final class HuggingFaceGPT2Tests: XCTestCase {
    var fixtures: String { Bundle.module.path(forResource: "Fixtures", ofType: nil)! }
    var tinyGPT2: String { fixtures + "/hf-gpt2-tiny" }

    /// Largest |ours - theirs| over all logits of `inputs`; `expected(i)` gives input i's (T * V) logits.
    func maxLogitDifference(_ model: GPT, inputs: [[Int]], expected: (Int) throws -> [Float]) throws -> Float {
        var worst: Float = 0
        for (index, ids) in inputs.enumerated() {
            try model.forward(tokens: ids.map(Int32.init), batch: 1, time: ids.count)
            let theirs = try expected(index)
            let v = model.config.vocabularySize
            XCTAssertEqual(theirs.count, ids.count * v)
            for row in 0..<ids.count {
                for (j, value) in model.logits(row: row).enumerated() { worst = max(worst, abs(value - theirs[row * v + j])) }
            }
        }
        return worst
    }

    func fixtureInputs() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: try AtomicFile.read(fixtures + "/hf-gpt2-tiny-expected/inputs.json")) as? [String: Any])
    }

    /// The fixture transformers saved (random tiny GPT-2, every tensor perturbed) gives transformers' logits.
    func testImportedWeightsMatchTransformersLogits() throws {
        let (model, endOfText) = try HuggingFaceGPT2.loadModel(directory: tinyGPT2)
        XCTAssertEqual(model.config, ModelConfig(vocabularySize: 297, contextLength: 32, layers: 2, heads: 2, width: 32))
        XCTAssertEqual(endOfText, 296)
        let inputs = try XCTUnwrap(try fixtureInputs()["inputs"] as? [[Int]])
        let (logits, _) = try Safetensors.read(fixtures + "/hf-gpt2-tiny-expected/logits.safetensors")
        let byName = Dictionary(uniqueKeysWithValues: logits.map { ($0.name, $0.values) })
        let worst = try maxLogitDifference(model, inputs: inputs) { try XCTUnwrap(byName["logits.\($0)"]) }
        print("import: max |logit difference| vs transformers = \(worst) over \(inputs.map(\.count).reduce(0, +)) positions")
        XCTAssertLessThan(worst, 1e-4)
    }

    /// The fixture's GPT-2 BPE vocabulary gives transformers' ids, and exporting it again writes the same
    /// vocab.json and merges.txt (merges recovered from the token ranks).
    func testImportedTokenizerMatchesTransformersAndExportsBack() throws {
        let tokenizer = try HuggingFaceTokenizer.load(directory: tinyGPT2)
        XCTAssertEqual(tokenizer.vocabularySize, 297)
        XCTAssertEqual(tokenizer.endOfTextID, 296)
        let object = try fixtureInputs()
        let texts = try XCTUnwrap(object["texts"] as? [String]), ids = try XCTUnwrap(object["text_ids"] as? [[Int]])
        for (text, expected) in zip(texts, ids) {
            XCTAssertEqual(try tokenizer.encode(text), expected, text)
            XCTAssertEqual(try tokenizer.decode(expected), text)
        }
        let directory = TemporaryDirectory()
        let (model, _) = try HuggingFaceGPT2.loadModel(directory: tinyGPT2)
        try HuggingFaceGPT2.export(model: model, tokenizer: tokenizer, to: directory.path)
        let vocabulary = { (path: String) in try JSONSerialization.jsonObject(with: try AtomicFile.read(path)) as? [String: Int] }
        XCTAssertEqual(try vocabulary(directory.file("vocab.json")), try vocabulary(tinyGPT2 + "/vocab.json"))
        XCTAssertEqual(try TextFile.read(directory.file("merges.txt")), try TextFile.read(tinyGPT2 + "/merges.txt"))
        let (reloaded, reloadedTokenizer) = try HuggingFaceGPT2.load(directory: directory.path)
        XCTAssertEqual(reloaded.parameters.array, model.parameters.array)
        XCTAssertEqual(try reloadedTokenizer.encode(texts[1]), ids[1])
    }

    func makeCharModel() throws -> (GPT, CharTokenizer) {
        let tokenizer = try CharTokenizer(corpus: "hello world, the quick fox!\né🙂")
        var generator = SeededGenerator(seed: 5)
        let model = try GPT(config: ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 12, layers: 2, heads: 2, width: 16),
                            generator: &generator)
        // Perturb everything so a mix-up of LayerNorm gains, biases or orientations shows.
        for i in 0..<model.parameters.count { model.parameters[i] += 0.1 * generator.nextNormal() }
        return (model, tokenizer)
    }

    func testExportLayoutAndRoundTrip() throws {
        let directory = TemporaryDirectory()
        let (model, tokenizer) = try makeCharModel()
        let out = directory.file("hf")
        try HuggingFaceGPT2.export(model: model, tokenizer: tokenizer, to: out)
        let (tensors, metadata) = try Safetensors.read(out + "/model.safetensors")
        XCTAssertEqual(metadata["format"], "pt")
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        XCTAssertEqual(byName["transformer.h.1.attn.c_attn.weight"]?.shape, [16, 48])
        XCTAssertEqual(byName["transformer.h.0.mlp.c_fc.weight"]?.shape, [16, 64])
        XCTAssertEqual(byName["transformer.h.0.mlp.c_proj.weight"]?.shape, [64, 16])
        XCTAssertEqual(byName["lm_head.weight"]?.values, byName["transformer.wte.weight"]?.values)
        // Conv1D orientation: HF's [in, out] element is our [out, in] element.
        let ours = model.layout.tensors.first { $0.name == "h.1.attn.c_attn.weight" }!
        XCTAssertEqual(byName["transformer.h.1.attn.c_attn.weight"]?.values[5 * 48 + 40], model.parameters[ours.offset + 40 * 16 + 5])
        XCTAssertEqual(tensors.count, model.layout.tensors.count + 1)

        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: try AtomicFile.read(out + "/config.json")) as? [String: Any])
        XCTAssertEqual(config["architectures"] as? [String], ["GPT2LMHeadModel"])
        XCTAssertEqual(config["activation_function"] as? String, "gelu_new")
        XCTAssertEqual(config["n_ctx"] as? Int, 12)
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, true)
        for file in ["generation_config.json", "tokenizer.json", "tokenizer_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }

        let (loaded, loadedTokenizer) = try HuggingFaceGPT2.load(directory: out)
        XCTAssertEqual(loaded.parameters.array, model.parameters.array)
        XCTAssertEqual(loadedTokenizer as? CharTokenizer, tokenizer)
        let imported = directory.file("imported")
        _ = try HuggingFaceGPT2.importDirectory(from: out, to: imported)
        XCTAssertEqual(try ModelDirectory.load(imported).model.parameters.array, model.parameters.array)
        XCTAssertThrowsError(try HuggingFaceGPT2.export(model: model, tokenizer: tokenizer, to: out)) {
            XCTAssertTrue("\($0)".contains("already holds a model"), "\($0)")
        }
    }

    /// Runs check_hf_export.py on two exports, a character model and the imported GPT-2 BPE fixture:
    /// transformers loads each, its logits match ours and its tokenizer gives our ids and decodes them back.
    /// Skipped when python3 with torch and transformers is not installed.
    func testTransformersLoadsTheExport() throws {
        let directory = TemporaryDirectory()
        let (charModel, charTokenizer) = try makeCharModel()
        let (bpeModel, bpeTokenizer) = try HuggingFaceGPT2.load(directory: tinyGPT2)
        // A vocabulary from our own BPE trainer: its merges.txt is recovered from the ranks, and
        // transformers' merge-by-pair-rank encoding must still give our ids.
        let shakespeare = String(try TextFile.read(packageRoot() + "/Corpora/shakespeare9.txt").prefix(20_000))
        let trained = try BPETrainer.train(corpus: [Array(shakespeare.utf8)], vocabularySize: 600, pattern: .gpt2).tokenizer
        var generator = SeededGenerator(seed: 8)
        let trainedModel = try GPT(config: ModelConfig(vocabularySize: trained.vocabularySize, contextLength: 16, layers: 1, heads: 2, width: 16),
                                   generator: &generator)
        let cases: [(name: String, model: GPT, tokenizer: any Tokenizer, texts: [String], inputs: [[Int]])] = [
            ("char", charModel, charTokenizer, ["hello world", "the quick fox!\n é🙂"], [[0], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]]),
            ("bpe", bpeModel, bpeTokenizer, ["the quick brown fox", "Héllo wörld 123!\n\nto be"], [[296], [5, 290, 17, 200, 256, 1]]),
            ("trained", trainedModel, trained, ["KING: my lord", String(shakespeare.suffix(300)), "  What's   this?\n\n 12345 naïve café"], [[0, 300, 511]]),
        ]
        var arguments = [fixtures + "/check_hf_export.py"]
        for item in cases {
            try HuggingFaceGPT2.export(model: item.model, tokenizer: item.tokenizer, to: directory.file(item.name))
            let inputs = item.inputs + [try item.tokenizer.encode(item.texts[0])]
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: ["inputs": inputs, "texts": item.texts]),
                                 to: directory.file(item.name + "-request.json"))
            arguments += [directory.file(item.name), directory.file(item.name + "-request.json"), directory.file(item.name + "-result.json")]
        }
        let status: Int32
        do { status = try runPython(arguments) } catch { throw XCTSkip("python3 cannot be run: \(error)") }
        if status == 77 || status == 127 { throw XCTSkip("python3 with torch and transformers is not installed") }
        XCTAssertEqual(status, 0)
        for item in cases {
            let result = try XCTUnwrap(JSONSerialization.jsonObject(with: try AtomicFile.read(directory.file(item.name + "-result.json"))) as? [String: Any])
            let logits = try XCTUnwrap(result["logits"] as? [[[Double]]])
            let inputs = item.inputs + [try item.tokenizer.encode(item.texts[0])]
            let worst = try maxLogitDifference(item.model, inputs: inputs) { logits[$0].flatMap { $0 }.map(Float.init) }
            print("export (\(item.name)): max |logit difference| transformers vs ours = \(worst); tokenizer \(result["tokenizer_class"] ?? "?")")
            XCTAssertLessThan(worst, 1e-4, item.name)
            XCTAssertEqual(result["text_ids"] as? [[Int]], try item.texts.map { try item.tokenizer.encode($0) }, item.name)
            XCTAssertEqual(result["decoded"] as? [String], item.texts, item.name)
            XCTAssertEqual(result["model_class"] as? String, "GPT2LMHeadModel")
        }
    }

    /// A chat model's export: transformers' apply_chat_template gives our prompt ids and greedy `generate` (with
    /// the exported generation_config.json: stop at <|end|>, the other markers suppressed) writes our replies.
    /// The tokenizer is byte-level without merges and a gpt4 pattern, as the shipped chat model's. Skipped when
    /// python3 with torch and transformers is not installed.
    func testTransformersChatTemplateAndGreedyGenerateReproduceOurReplies() throws {
        let directory = TemporaryDirectory()
        let tokenizer = try BPETrainer.train(corpus: [Array("What is 2 + 3? 5".utf8)], vocabularySize: 256 + ChatTemplate.specialTokens.count,
                                             pattern: .gpt4, specialTokens: ChatTemplate.specialTokens.filter { $0 != BPETokenizer.endOfText }).tokenizer
        var generator = SeededGenerator(seed: 11)
        let model = try GPT(config: ModelConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 96, layers: 2, heads: 2, width: 16),
                            generator: &generator)
        let template = try ChatTemplate(tokenizer: tokenizer)
        let chats: [[ChatTemplate.Message]] = [
            [.init(role: .user, text: "What is 2 + 3?")],
            [.init(role: .system, text: "Be brief."), .init(role: .user, text: "Hi"), .init(role: .assistant, text: "Hello!"),
             .init(role: .user, text: "Spell it backwards.")],
        ]
        let maxNewTokens = 12
        let prompts = try chats.map { try template.encode($0, tokenizer: tokenizer, promptAssistant: true) }
        let requests = prompts.map { GenerationRequest(prompt: $0, sampling: template.replySampling(.greedy), stop: template.replyStop(maxNewTokens: maxNewTokens)) }
        let replies = try BatchGenerator(model: model).generate(requests, tokenizer: tokenizer).map(\.tokens)
        try HuggingFaceGPT2.export(model: model, tokenizer: tokenizer, to: directory.file("chat"))
        let request: [String: Any] = [
            "inputs": [[0]], "texts": ["Hi"], "max_new_tokens": maxNewTokens,
            "chats": chats.map { $0.map { ["role": $0.role.rawValue, "content": $0.text] } },
        ]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: request), to: directory.file("request.json"))
        let status: Int32
        do { status = try runPython([fixtures + "/check_hf_export.py", directory.file("chat"), directory.file("request.json"), directory.file("result.json")]) }
        catch { throw XCTSkip("python3 cannot be run: \(error)") }
        if status == 77 || status == 127 { throw XCTSkip("python3 with torch and transformers is not installed") }
        XCTAssertEqual(status, 0)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: try AtomicFile.read(directory.file("result.json"))) as? [String: Any])
        XCTAssertEqual(result["chat_prompt_ids"] as? [[Int]], prompts)
        XCTAssertEqual(result["chat_reply_ids"] as? [[Int]], replies)
        XCTAssertTrue(replies.contains { $0.count > 1 }, "a reply of several tokens, so generate's loop is compared: \(replies)")
    }

    @discardableResult
    func runPython(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
