#!/usr/bin/env python3
"""Writes a large synthetic corpus for the scale benchmark: lines drawn at random (seeded) from the
shipped corpora (Shakespeare, with about 5% Chinese poetry and sayings), written as --files documents
of equal size, a block at a time so that generating 3 GB needs little memory.

    python3 Benchmarks/peers/make_scale_corpus.py --size 3GB --out DIR [--files 32] [--seed 1]
"""
import argparse
import os
import random

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def parse_size(text):
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            return int(float(text[:-2]) * factor)
    return int(text)


def lines(name):
    with open(os.path.join(ROOT, "Corpora", name), encoding="utf-8") as f:
        return [line for line in f.read().split("\n") if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", required=True, help="total bytes, e.g. 50MB or 3GB")
    parser.add_argument("--out", required=True)
    parser.add_argument("--files", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    english = lines("shakespeare9.txt")
    chinese = lines("tang300.txt") + lines("song100.txt") + lines("zh_sayings.txt")
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    per_file = parse_size(args.size) // args.files
    for index in range(args.files):
        with open(os.path.join(args.out, f"doc{index:04d}.txt"), "w", encoding="utf-8") as f:
            written = 0
            while written < per_file:
                block = "\n".join(rng.choice(chinese) if rng.random() < 0.05 else rng.choice(english) for _ in range(2000)) + "\n"
                f.write(block)
                written += len(block.encode("utf-8"))


if __name__ == "__main__":
    main()
