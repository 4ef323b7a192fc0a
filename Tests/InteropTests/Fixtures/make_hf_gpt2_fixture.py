"""Makes the tiny Hugging Face GPT-2 fixture that InteropTests import without Python.

Writes hf-gpt2-tiny/ (transformers' save_pretrained output: config.json, generation_config.json,
model.safetensors in F32, tokenizer files, plus vocab.json and merges.txt) and hf-gpt2-tiny-expected/
(inputs.json: token ids, and texts with the ids transformers' tokenizer gives them; logits.safetensors:
the model's logits for each input). The BPE vocabulary is learned here from a few sentences (256 byte
tokens in GPT-2's order + 40 merges + <|endoftext|>), so the files stay small.

    python3 make_hf_gpt2_fixture.py      # from this directory; needs torch, transformers, safetensors
"""
import json
import os
import shutil
import tempfile

import regex
import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hf-gpt2-tiny")
EXPECTED = os.path.join(HERE, "hf-gpt2-tiny-expected")
MERGES = 40
GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
TEXT = ("the quick brown fox jumps over the lazy dog. the dog sleeps; the fox runs. "
        "to be or not to be, that is the question. there is the thing, then the other thing.")


def bytes_to_unicode():
    """GPT-2's printable stand-in for each byte (the order defines ids 0..255)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    stand_ins = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            stand_ins.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, stand_ins)))


def learn_bpe(text, merges):
    byte_char = bytes_to_unicode()
    words = {}
    for piece in regex.findall(GPT2_SPLIT, text):
        word = tuple(byte_char[b] for b in piece.encode("utf-8"))
        words[word] = words.get(word, 0) + 1
    vocab = {ch: i for i, ch in enumerate(byte_char.values())}
    merge_list = []
    for _ in range(merges):
        pairs = {}
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] = pairs.get(pair, 0) + count
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merge_list.append(best)
        vocab[best[0] + best[1]] = len(vocab)
        merged = {}
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + count
        words = merged
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merge_list


def main():
    torch.manual_seed(1234)
    for path in (OUT, EXPECTED):
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
    vocab, merges = learn_bpe(TEXT, MERGES)
    with tempfile.TemporaryDirectory() as scratch:
        vocab_file, merges_file = os.path.join(scratch, "vocab.json"), os.path.join(scratch, "merges.txt")
        with open(vocab_file, "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(merges_file, "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        tokenizer = GPT2Tokenizer(vocab_file, merges_file)
        tokenizer.save_pretrained(OUT)
        for name in ("vocab.json", "merges.txt"):
            if not os.path.exists(os.path.join(OUT, name)):
                shutil.copy(os.path.join(scratch, name), OUT)

    eot = vocab["<|endoftext|>"]
    config = GPT2Config(vocab_size=len(vocab), n_positions=32, n_embd=32, n_layer=2, n_head=2,
                        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        layer_norm_epsilon=1e-5, bos_token_id=eot, eos_token_id=eot)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        # Perturb everything (LayerNorm gains, biases included) so a wrong mapping shows in the logits.
        for _, parameter in model.named_parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    model.save_pretrained(OUT)

    texts = ["the quick brown fox", "to be, or not to be: that is the question.", "Héllo wörld 123!"]
    inputs = [tokenizer.encode(t) for t in texts]
    g = torch.Generator().manual_seed(7)
    inputs += [torch.randint(0, len(vocab), (n,), generator=g).tolist() for n in (1, 5, 32)]
    logits = {}
    with torch.no_grad():
        for i, ids in enumerate(inputs):
            logits[f"logits.{i}"] = model(torch.tensor([ids])).logits[0].float().contiguous()
    save_file(logits, os.path.join(EXPECTED, "logits.safetensors"))
    with open(os.path.join(EXPECTED, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump({"inputs": inputs, "texts": texts, "text_ids": inputs[:len(texts)]}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
