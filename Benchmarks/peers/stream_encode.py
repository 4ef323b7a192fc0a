#!/usr/bin/env python3
"""Peer benchmark for `minigpt tokenizer prepare`: encode a corpus directory with GPT-2's ranks through
tiktoken's `encode_ordinary_batch` or Hugging Face tokenizers' `encode_batch`, with all threads, streaming
(one file at a time, cut into ~1 MB blocks at newlines) so that memory stays bounded as ours does.
The ids are counted, not kept. Vocabulary built offline from Models/gpt2-tokenizer (no network).

    python3 Benchmarks/peers/stream_encode.py --engine tiktoken|hf --input DIR [--threads N] [--json out.json]
"""
import argparse
import json
import os
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GPT2 = os.path.join(ROOT, "Models", "gpt2-tokenizer")
PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
BLOCK = 1 << 20


def tiktoken_encoder(threads):
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    ranks = data_gym_to_mergeable_bpe_ranks(os.path.join(GPT2, "vocab.bpe"), os.path.join(GPT2, "encoder.json"))
    enc = tiktoken.Encoding("gpt2", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
    return f"tiktoken {tiktoken.__version__} encode_ordinary_batch", lambda blocks: sum(map(len, enc.encode_ordinary_batch(blocks, num_threads=threads)))


def hf_encoder(threads):
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    tok = Tokenizer(models.BPE.from_file(os.path.join(GPT2, "encoder.json"), os.path.join(GPT2, "vocab.bpe")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return f"tokenizers {tokenizers.__version__} encode_batch", lambda blocks: sum(len(e.ids) for e in tok.encode_batch(blocks, add_special_tokens=False))


def blocks_of(path):
    """The file's text in blocks of about BLOCK bytes, each ending at a newline where there is one."""
    with open(path, encoding="utf-8", newline="") as f:
        rest = ""
        while True:
            chunk = f.read(BLOCK)
            if not chunk:
                break
            text = rest + chunk
            cut = text.rfind("\n") + 1
            if cut == 0:
                rest = text
                continue
            yield text[:cut]
            rest = text[cut:]
        if rest:
            yield rest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["tiktoken", "hf"], required=True)
    parser.add_argument("--input", required=True, help="a directory of text files, or one file")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json")
    args = parser.parse_args()
    name, encode = (tiktoken_encoder if args.engine == "tiktoken" else hf_encoder)(args.threads)
    files = [args.input] if os.path.isfile(args.input) else sorted(
        os.path.join(args.input, f) for f in os.listdir(args.input) if not f.startswith("."))
    size = sum(os.path.getsize(f) for f in files)
    tokens = 0
    start = time.perf_counter()
    for path in files:
        batch = []
        for block in blocks_of(path):
            batch.append(block)
            if len(batch) == 4 * args.threads:
                tokens += encode(batch)
                batch = []
        if batch:
            tokens += encode(batch)
    seconds = time.perf_counter() - start
    result = {"name": name, "threads": args.threads, "bytes": size, "tokens": tokens, "seconds": seconds, "MBPerSecond": size / 1e6 / seconds}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
