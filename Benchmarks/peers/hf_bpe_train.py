#!/usr/bin/env python3
"""Peer benchmark: Hugging Face `tokenizers`' BPE trainer, byte-level like ours (GPT-2 pre-split regex,
the 256-byte initial alphabet, no prefix space), on the first --train-bytes bytes of --input.

    python3 Benchmarks/peers/hf_bpe_train.py --input TEXT [--vocab-size 4096] [--repeats 5] [--json out.json]

The trainer is multi-threaded (rayon); set RAYON_NUM_THREADS=1 for a single-thread number. Validates that the
vocabulary reached the requested size and that encode/decode round-trips, warms up once, then times
`train_from_iterator` --repeats times (a fresh Tokenizer each time) and reports median/min/max.
"""
import argparse
import json
import os
import statistics
import time

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers


def train(text, vocab_size):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=0, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"])
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--train-bytes", type=int, default=1_000_000)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()

    with open(args.input, "rb") as f:
        data = f.read()[: args.train_bytes]
    text = data.decode("utf-8", errors="ignore")  # drops a character cut at the end, as ours does
    size = len(text.encode("utf-8"))

    tokenizer = train(text, args.vocab_size)
    assert tokenizer.get_vocab_size() == args.vocab_size, tokenizer.get_vocab_size()
    sample = text[:20000]
    assert tokenizer.decode(tokenizer.encode(sample).ids) == sample, "round trip failed"
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        train(text, args.vocab_size)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    threads = os.environ.get("RAYON_NUM_THREADS", "default (all cores)")
    result = {"name": "HF tokenizers BpeTrainer", "version": tokenizers.__version__, "threads": threads, "bytes": size,
              "vocabSize": args.vocab_size, "seconds": seconds, "medianSeconds": median, "minSeconds": min(seconds),
              "maxSeconds": max(seconds)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    print(f"| HF tokenizers {tokenizers.__version__} train, threads={threads} | {size} | {median:.4f} | {min(seconds):.4f} "
          f"| {max(seconds):.4f} | {size / 1e6 / median:.2f} | vocab {args.vocab_size} |")


if __name__ == "__main__":
    main()
