import Core
import Model

/// How MiniGPT's tensors map to Hugging Face's `GPT2LMHeadModel` state dict.
///
/// | MiniGPT (shape)                  | transformers (shape)                         |
/// |----------------------------------|----------------------------------------------|
/// | `wte` (V, C)                     | `transformer.wte.weight` (V, C); `lm_head.weight` is the same tensor (tied) |
/// | `wpe` (T, C)                     | `transformer.wpe.weight` (T, C)              |
/// | `h.N.ln_1.weight/bias` (C)       | `transformer.h.N.ln_1.weight/bias` (C)       |
/// | `h.N.attn.c_attn.weight` (3C, C) | `transformer.h.N.attn.c_attn.weight` (C, 3C) |
/// | `h.N.attn.c_proj.weight` (C, C)  | `transformer.h.N.attn.c_proj.weight` (C, C), transposed |
/// | `h.N.mlp.c_fc.weight` (4C, C)    | `transformer.h.N.mlp.c_fc.weight` (C, 4C)    |
/// | `h.N.mlp.c_proj.weight` (C, 4C)  | `transformer.h.N.mlp.c_proj.weight` (4C, C)  |
/// | biases, `ln_2`, `ln_f`           | same name under `transformer.`, same shape   |
///
/// GPT-2's projections are `Conv1D` modules computing x @ W + b, so W is stored (in, out); MiniGPT
/// stores (out, in) like `nn.Linear`, hence the transposes. Both order q, k, v the same way inside
/// `c_attn` (columns 0..<C are q, then k, then v), so no reordering is needed.
public enum GPT2TensorNames {
    public static let lmHead = "lm_head.weight"

    /// The transformers name of one of MiniGPT's tensors.
    public static func huggingFaceName(_ ours: String) -> String {
        ours == "wte" || ours == "wpe" ? "transformer.\(ours).weight" : "transformer.\(ours)"
    }

    /// True for the Conv1D weights, which transformers stores transposed.
    public static func isTransposed(_ ours: String) -> Bool {
        ours.hasPrefix("h.") && (ours.hasSuffix(".c_attn.weight") || ours.hasSuffix(".c_proj.weight") || ours.hasSuffix(".c_fc.weight"))
    }

    /// Buffers some transformers versions save beside the weights (the causal mask); not parameters.
    public static func isIgnoredBuffer(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
    }

    /// (rows, columns) row-major -> (columns, rows) row-major.
    public static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        precondition(values.count == rows * columns, "transpose needs rows * columns values")
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows {
            for c in 0..<columns { out[c * rows + r] = values[r * columns + c] }
        }
        return out
    }

    /// The model's parameters under transformers' names and layouts, `lm_head.weight` included.
    public static func huggingFaceTensors(of model: GPT) -> [NamedTensor] {
        var tensors: [NamedTensor] = []
        for tensor in model.layout.tensors {
            let values = Array(UnsafeBufferPointer(start: model.parameters.pointer + tensor.offset, count: tensor.count))
            if isTransposed(tensor.name) {
                tensors.append(NamedTensor(name: huggingFaceName(tensor.name), shape: [tensor.shape[1], tensor.shape[0]],
                                           values: transpose(values, rows: tensor.shape[0], columns: tensor.shape[1])))
            } else {
                tensors.append(NamedTensor(name: huggingFaceName(tensor.name), shape: tensor.shape, values: values))
            }
            if tensor.name == "wte" { tensors.append(NamedTensor(name: lmHead, shape: tensor.shape, values: values)) }
        }
        return tensors
    }

    /// Builds MiniGPT's flat parameters from a transformers state dict (with or without the `transformer.`
    /// prefix, with or without `lm_head.weight`, ignoring the attention-mask buffers). Names, shapes and
    /// values are checked: a missing or extra tensor, a wrong shape, an untied LM head or a NaN is an error.
    public static func parameters(from tensors: [NamedTensor], config: ModelConfig, path: String) throws -> FloatBuffer {
        var byName: [String: NamedTensor] = [:]
        for tensor in tensors where !isIgnoredBuffer(tensor.name) {
            let name = tensor.name.hasPrefix("transformer.") || tensor.name == lmHead ? tensor.name : "transformer." + tensor.name
            guard byName.updateValue(tensor, forKey: name) == nil else {
                throw InteropError.badFile(path: path, reason: "tensor \(name) appears twice (with and without the transformer. prefix)")
            }
        }
        let layout = ParameterLayout(config: config)
        func expectedShape(_ tensor: ParameterLayout.Tensor) -> [Int] {
            isTransposed(tensor.name) ? [tensor.shape[1], tensor.shape[0]] : tensor.shape
        }
        // Shapes are compared with the config before the parameter buffer is made, so a config claiming
        // a larger model than its weights fails here instead of allocating for the claim.
        for tensor in layout.tensors {
            let name = huggingFaceName(tensor.name)
            guard let stored = byName[name] else { throw InteropError.badFile(path: path, reason: "tensor \(name) is missing") }
            guard stored.shape == expectedShape(tensor) else {
                throw InteropError.badFile(path: path, reason: "tensor \(name) has shape \(stored.shape), the config needs \(expectedShape(tensor))")
            }
        }
        let parameters = FloatBuffer(count: layout.count)
        for tensor in layout.tensors {
            let name = huggingFaceName(tensor.name)
            let stored = byName.removeValue(forKey: name)!  // present: checked above
            let transposed = isTransposed(tensor.name)
            let expected = expectedShape(tensor)
            if let bad = stored.values.firstIndex(where: { !$0.isFinite }) {
                throw InteropError.badFile(path: path, reason: "tensor \(name) holds a non-finite value at index \(bad)")
            }
            let values = transposed ? transpose(stored.values, rows: expected[0], columns: expected[1]) : stored.values
            values.withUnsafeBufferPointer { (parameters.pointer + tensor.offset).update(from: $0.baseAddress!, count: tensor.count) }
        }
        if let head = byName.removeValue(forKey: lmHead) {
            let wte = layout.tensors[0]
            let tied = head.shape == wte.shape && head.values.elementsEqual(UnsafeBufferPointer(start: parameters.pointer + wte.offset, count: wte.count))
            guard tied else {
                throw InteropError.unsupported(path: path, reason: "\(lmHead) differs from transformer.wte.weight; MiniGPT ties the LM head to the token embedding")
            }
        }
        guard byName.isEmpty else {
            throw InteropError.badFile(path: path, reason: "unexpected tensors \(byName.keys.sorted().prefix(3).joined(separator: ", "))")
        }
        return parameters
    }
}
