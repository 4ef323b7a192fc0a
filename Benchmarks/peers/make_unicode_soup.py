#!/usr/bin/env python3
"""Writes a deterministic "Unicode soup" for benchmarks and fixtures: characters drawn from every plane
(20%), from U+0000-U+2FFF (25%), and from ASCII letters, digits, whitespace, contraction letters and
punctuation (55%). Few chunks repeat and few are whole tokens, so it stresses lookups rather than caches.

    python3 Benchmarks/peers/make_unicode_soup.py OUT [--chars 200000] [--seed 7]
"""
import argparse
import random


def soup(chars, seed):
    rng = random.Random(seed)
    pools = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n\r\x0b\x0c", "   ",
             "'sSdDmMtTlLvVrReE", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~"]

    def any_scalar():
        while True:
            code = rng.randrange(0x110000)
            if not 0xD800 <= code <= 0xDFFF:
                return chr(code)

    def low_scalar():
        code = rng.randrange(0x3000)
        return chr(code) if not 0xD800 <= code <= 0xDFFF else "x"

    parts = []
    for _ in range(chars):
        k = rng.random()
        if k < 0.2:
            parts.append(any_scalar())
        elif k < 0.45:
            parts.append(low_scalar())
        else:
            parts.append(rng.choice(rng.choice(pools)))
    return "".join(parts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--chars", type=int, default=200000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        f.write(soup(args.chars, args.seed))
