import Core
import Foundation
import Interop
import Model
import TestSupport
import XCTest

/// The variants of a transformers GPT-2 directory that import must accept, and the ones it must refuse.
final class HuggingFaceImportVariantsTests: XCTestCase {
    var tinyGPT2: String { Bundle.module.path(forResource: "Fixtures", ofType: nil)! + "/hf-gpt2-tiny" }

    /// A copy of the fixture with its tensors and config edited.
    func variant(tensors edit: (inout [NamedTensor]) -> Void = { _ in },
                 config editConfig: (inout [String: Any]) -> Void = { _ in }) throws -> TemporaryDirectory {
        let directory = TemporaryDirectory()
        for name in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: tinyGPT2 + "/" + name, toPath: directory.file(name))
        }
        var (tensors, metadata) = try Safetensors.read(directory.file("model.safetensors"))
        edit(&tensors)
        try Safetensors.write(tensors, metadata: metadata, to: directory.file("model.safetensors"))
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: try AtomicFile.read(directory.file("config.json"))) as? [String: Any])
        editConfig(&config)
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: config), to: directory.file("config.json"))
        return directory
    }

    func reference() throws -> [Float] { try HuggingFaceGPT2.loadModel(directory: tinyGPT2).model.parameters.array }

    func testAcceptsMaskBuffersTiedHeadAndUnprefixedNames() throws {
        let withExtras = try variant(tensors: { tensors in
            let wte = tensors.first { $0.name == "transformer.wte.weight" }!
            tensors.append(NamedTensor(name: "lm_head.weight", shape: wte.shape, values: wte.values))
            for layer in 0..<2 {
                let mask = (0..<(32 * 32)).map { Float($0 % 32 <= $0 / 32 ? 1 : 0) }
                tensors.append(NamedTensor(name: "transformer.h.\(layer).attn.bias", shape: [1, 1, 32, 32], values: mask))
                tensors.append(NamedTensor(name: "transformer.h.\(layer).attn.masked_bias", shape: [], values: [-1e4]))
            }
        })
        XCTAssertEqual(try HuggingFaceGPT2.loadModel(directory: withExtras.path).model.parameters.array, try reference())
        // GPT2Model.save_pretrained writes the same tensors without the "transformer." prefix.
        let bare = try variant(tensors: { tensors in
            tensors = tensors.map { NamedTensor(name: String($0.name.dropFirst("transformer.".count)), shape: $0.shape, values: $0.values) }
        })
        XCTAssertEqual(try HuggingFaceGPT2.loadModel(directory: bare.path).model.parameters.array, try reference())
    }

    /// transformers 5 saves GPT-2's vocabulary only inside tokenizer.json (a BPE model); without vocab.json
    /// and merges.txt the tokenizer comes from there.
    func testReadsTheBPEModelInsideTokenizerJSON() throws {
        let directory = TemporaryDirectory()
        for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: tinyGPT2 + "/" + name, toPath: directory.file(name))
        }
        let (_, fromTokenizerJSON) = try HuggingFaceGPT2.load(directory: directory.path)
        let (_, fromVocabAndMerges) = try HuggingFaceGPT2.load(directory: tinyGPT2)
        let text = "to be, or not to be: that is the question. Héllo"
        XCTAssertEqual(try fromTokenizerJSON.encode(text), try fromVocabAndMerges.encode(text))
        XCTAssertEqual(fromTokenizerJSON.vocabularySize, 297)
    }

    func testRefusesWhatMiniGPTCannotCompute() throws {
        let cases: [(String, TemporaryDirectory, String)] = [
            ("untied head", try variant(tensors: { tensors in
                let wte = tensors.first { $0.name == "transformer.wte.weight" }!
                tensors.append(NamedTensor(name: "lm_head.weight", shape: wte.shape, values: wte.values.map { $0 + 1 }))
            }), "ties the LM head"),
            ("relu", try variant(config: { $0["activation_function"] = "relu" }), "activation_function"),
            ("n_inner", try variant(config: { $0["n_inner"] = 64 }), "n_inner"),
            ("epsilon", try variant(config: { $0["layer_norm_epsilon"] = 1e-6 }), "layer_norm_epsilon"),
            ("not gpt2", try variant(config: { $0["model_type"] = "llama" }), "model_type"),
            ("inverse layer scaling", try variant(config: { $0["scale_attn_by_inverse_layer_idx"] = true }), "scale_attn_by_inverse_layer_idx"),
        ]
        for (name, directory, expected) in cases {
            XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: directory.path), name) { error in
                guard case InteropError.unsupported = error else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue("\(error)".contains(expected), "\(name): \(error)")
            }
        }
    }

    func testRefusesMalformedDirectories() throws {
        let cases: [(String, TemporaryDirectory, String)] = [
            ("missing tensor", try variant(tensors: { $0.removeAll { $0.name == "transformer.h.1.ln_2.bias" } }), "transformer.h.1.ln_2.bias is missing"),
            ("extra tensor", try variant(tensors: { $0.append(NamedTensor(name: "transformer.h.9.mlp.c_fc.weight", shape: [1], values: [0])) }),
             "unexpected tensors"),
            ("wrong orientation", try variant(tensors: { tensors in
                let index = tensors.firstIndex { $0.name == "transformer.h.0.mlp.c_fc.weight" }!
                tensors[index].shape = [128, 32]
            }), "has shape [128, 32]"),
            ("NaN weight", try variant(tensors: { tensors in
                let index = tensors.firstIndex { $0.name == "transformer.ln_f.weight" }!
                tensors[index].values[3] = .nan
            }), "non-finite"),
            ("vocabulary too large", try variant(config: { $0["vocab_size"] = 1 << 40 }), "vocab_size"),
            ("width not an integer", try variant(config: { $0["n_embd"] = 32.5 }), "n_embd"),
            ("heads do not divide width", try variant(config: { $0["n_head"] = 3 }), "not divisible"),
        ]
        for (name, directory, expected) in cases {
            XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: directory.path), name) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(name): \(error)")
            }
        }
        // bfloat16 (as many Hub checkpoints are) is refused with the conversion to use.
        let half = try variant()
        var bytes = try AtomicFile.read(half.file("model.safetensors"))
        let f32 = Data("\"F32\"".utf8)
        let at = try XCTUnwrap(bytes.range(of: f32))
        bytes.replaceSubrange(at, with: Data("\"BF16\"".utf8))
        try AtomicFile.write(bytes, to: half.file("model.safetensors"))
        XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: half.path)) {
            XCTAssertTrue("\($0)".contains("dtype BF16") && "\($0)".contains("model.float()"), "\($0)")
        }
        let pickled = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: tinyGPT2 + "/config.json", toPath: pickled.file("config.json"))
        _ = pickled.write("not really a pickle", to: "pytorch_model.bin")
        XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: pickled.path)) {
            XCTAssertTrue("\($0)".contains("safe_serialization=True"), "\($0)")
        }
    }
}
