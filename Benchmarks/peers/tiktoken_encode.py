#!/usr/bin/env python3
"""Peer benchmark: tiktoken's single-thread encode throughput with GPT-2's ranks, built offline from
Models/gpt2-tokenizer/{encoder.json,vocab.bpe} (no network).

    python3 Benchmarks/peers/tiktoken_encode.py --input TEXT [--repeats 5] [--ids-out ids.json] [--json out.json]

Validates first (decode(encode(x)) == x), warms up once, then times `encode_ordinary` (one thread; tiktoken
only uses threads in the *_batch calls) `--repeats` times and reports median/min/max. `--ids-out` writes the
ids so `minigpt tokenizer bench --expected-ids` can check ours are identical before timing.
"""
import argparse
import json
import os
import statistics
import time

import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ids-out")
    parser.add_argument("--json")
    args = parser.parse_args()

    gpt2 = os.path.join(ROOT, "Models", "gpt2-tokenizer")
    ranks = data_gym_to_mergeable_bpe_ranks(os.path.join(gpt2, "vocab.bpe"), os.path.join(gpt2, "encoder.json"))
    enc = tiktoken.Encoding("gpt2", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
    with open(args.input, encoding="utf-8", newline="") as f:  # keep \r bytes as they are
        text = f.read()
    size = len(text.encode("utf-8"))

    ids = enc.encode_ordinary(text)
    assert enc.decode(ids) == text, "round trip failed"
    if args.ids_out:
        with open(args.ids_out, "w") as f:
            json.dump(ids, f)
    enc.encode_ordinary(text)  # warm-up
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        enc.encode_ordinary(text)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    result = {"name": "tiktoken encode_ordinary", "version": tiktoken.__version__, "bytes": size, "tokens": len(ids),
              "seconds": seconds, "medianSeconds": median, "minSeconds": min(seconds), "maxSeconds": max(seconds),
              "medianMBPerSecond": size / 1e6 / median}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(f"| tiktoken {tiktoken.__version__} encode | {size} | {median:.4f} | {min(seconds):.4f} | {max(seconds):.4f} "
          f"| {size / 1e6 / median:.2f} | {len(ids)} tokens |")


if __name__ == "__main__":
    main()
