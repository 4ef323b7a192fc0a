"""A GPT-2 forward pass in PyTorch over MiniGPT's safetensors names, for the alignment scripts beside it.

Weights are stored [out, in]; the LM head is tied to `wte`. Gradients flow when the weights require them.
"""
import math

import torch
import torch.nn.functional as F


def final_hidden(weights, config, sequences):
    """Hidden states after the final LayerNorm (B, T, C) and the token ids (B, T, right-padded with 0) of
    `sequences` (lists of token ids). Padding sits after each sequence, so the causal mask keeps it out."""
    heads, width = config["heads"], config["width"]
    b, t = len(sequences), max(map(len, sequences))
    tokens = torch.zeros(b, t, dtype=torch.long)
    for i, s in enumerate(sequences):
        tokens[i, :len(s)] = torch.tensor(s)
    w = weights
    norm = lambda x, name: F.layer_norm(x, (width,), w[name + ".weight"], w[name + ".bias"], 1e-5)
    linear = lambda x, name: x @ w[name + ".weight"].T + w[name + ".bias"]
    split = lambda x: x.view(b, t, heads, -1).transpose(1, 2)  # (B, heads, T, head width)
    future = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    h = w["wte"][tokens] + w["wpe"][:t]
    for layer in range(config["layers"]):
        p = f"h.{layer}."
        q, k, v = linear(norm(h, p + "ln_1"), p + "attn.c_attn").split(width, -1)
        scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(width // heads)
        mixed = (scores.masked_fill(future, -math.inf).softmax(-1) @ split(v)).transpose(1, 2).reshape(b, t, width)
        h = h + linear(mixed, p + "attn.c_proj")
        h = h + linear(F.gelu(linear(norm(h, p + "ln_2"), p + "mlp.c_fc"), approximate="tanh"), p + "mlp.c_proj")
    return norm(h, "ln_f"), tokens
