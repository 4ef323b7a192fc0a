#!/usr/bin/env python3
"""Regenerates the tokenizer test fixtures. Needs Python 3 with `regex` and `tiktoken` (the tests do not).

    cd Tests/TokenizersTests/Fixtures && python3 make_fixtures.py

presplit.json  - for every sample text, the chunks Python's `regex` module finds with the GPT-2, the
                 GPT-4 (cl100k, tiktoken 0.14 spelling) and the gpt2-digits pre-split patterns.
gpt2_ids.json  - tiktoken's ids for the same texts (and a longer mixed text) with GPT-2's vocabulary,
                 built offline from Models/gpt2-tokenizer/{encoder.json,vocab.bpe}; `encode_ordinary`
                 for every text, plus `encode(..., allowed_special={"<|endoftext|>"})` for one.
unicode_classes.json - the code point ranges tiktoken's engine treats as \p{L}, \p{N} and \s, probed through
                 tiktoken itself (see unicode_classes()); the test checks the scanner at every range boundary.
trained_gpt4_ids.json - tiktoken's ids for the same texts with the ranks of trained_gpt4_1000.json (a
                 1,000-token vocabulary MiniGPT's trainer made with the GPT-4 pattern:
                 `minigpt tokenizer train --input Corpora/song100.txt Tests/TokenizersTests/Fixtures/shakespeare_head.txt
                 --vocab-size 1000 --pattern gpt4 --special "<|pad|>"`), read straight from that file, and the
                 GPT-4 pattern. shakespeare_head.txt is the first 20,000 bytes of ../shared/corpora/shakespeare9.txt.
"""
import base64
import json
import os
import random

import regex
import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# GPT-2's pattern with one digit per chunk (MiniGPT's `gpt2-digits`).
GPT2_DIGITS = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4 = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
# tiktoken 0.14's own spelling of GPT-2's pattern; it must split the same way as the original above.
GPT2_TIKTOKEN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""


def sample_texts():
    texts = [
        "Hello, world! It's a test. We'll see; they've gone, I'm here, you'd know, we're fine.",
        "DON'T SHOUT: IT'S LOUD. 'S 'T 'RE 'VE 'M 'LL 'D 'Ll 'x ''s '",
        "  leading spaces,   inner   runs,\ttabs\t\tand trailing spaces   ",
        "line one\nline two\n\n\nline five\r\nwindows line\r\n\r\n  indented\n\t\ttabbed\n   \n",
        "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000 0x1F 2024-11-22 " + "9" * 70,
        "唐诗：床前明月光，疑是地上霜。举头望明月，低头思故乡。",
        "中文English混合text，还有数字123和emoji😀🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇯🇵🇫🇷.",
        "Ελληνικά κείμενο, русский текст, עברית, العربية, हिन्दी, 日本語のテキスト, 한국어 텍스트.",
        "Accents: café naïve coöperate façade résumé Ångström; ligature ﬁ; ß ẞ; ǅ titlecase; ſ long s; 'ſ.",
        "Symbols: @#$%^&*()_+-=[]{}|;:\",.<>/?`~ and ... --- !!! ??? '''' \"\"\" «» „“ ‘’",
        "Special-looking text: <|endoftext|> and <|fim_prefix|> stay ordinary by default.",
        "Unicode spaces:\u00a0nbsp\u2003em\u3000ideographic\u2028line sep\u2029para sep\u0085nel\u000bvt\u000cff end",
        "Numerals: ½ ¼ ² ³ Ⅻ ⅳ ٣٤٥ ১২৩ 𝟘𝟙𝟚 ① and marks: e\u0301 n\u0303 क्ष",
        "code: def f(x):\n    return x**2  # square\n\nif __name__ == '__main__':\n\tprint(f(3))\n",
        "url https://example.com/a/b?c=d&e=f#g and email someone@example.org.",
        " ",
        "\n",
        "a",
        "'",
        "''",
        "'s",
        "it'S we'LL he'Ll she'rE x'ſ y'ſt z'K 'ſ 'Ve'd'm't",
        "   ",
        "\n\n\n",
        " \n \n ",
        "x \ny",
        "x\n y",
        "!\n\nabc",
        "“Quoted”—dashes–and…ellipsis",
        "tab\tbefore\tletters and space before digits 42 and\t7",
        "a" * 300,
        "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥" * 8,
        " " * 150 + "x",
        "x" + "\n" * 140 + "y",
        "ab" * 200 + " " + "1" * 400,
    ]
    rng = random.Random(20261122)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n\r",
        "  ",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "的一是不了人我在有他这为之大来以个中上们",
        "，。！？；：“”《》",
        "😀🎉👍🌍🚀",
        "éàüßøåñçΩλжщאבغع",
        "'sSdDmMtTlLvVrReE",
        "\u00a0\u2003\u3000\u0085",
        "½²Ⅻ٣",
    ]
    for _ in range(150):
        length = rng.randint(1, 120)
        texts.append("".join(rng.choice(rng.choice(pools)) for _ in range(length)))
    # Long single chunks (the encoder's O(n log n) path for chunks over 128 bytes), with many equal ranks.
    for alphabet, length in (("abcdefghijklmnopqrstuvwxyz", 400), ("etaoinshr", 300), ("的一是不了人我在有他这为之大来以个中上们", 120)):
        texts.append("".join(rng.choice(alphabet) for _ in range(length)))
    return texts


def corpus_text():
    with open(os.path.join(ROOT, "Corpora", "tang300.txt"), encoding="utf-8") as f:
        tang = f.read()[:6000]
    english = (
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
        "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
        "it was the season of Darkness, it was the spring of hope, it was the winter of despair.\n\n"
    )
    return english * 8 + tang + "\n\n" + "\n".join(sample_texts())


def main():
    texts = sample_texts()
    presplit = {"gpt2_pattern": GPT2, "gpt4_pattern": GPT4, "gpt2-digits_pattern": GPT2_DIGITS, "texts": texts,
                "gpt2": [], "gpt4": [], "gpt2-digits": []}
    for text in texts:
        a = regex.findall(GPT2, text)
        b = regex.findall(GPT2_TIKTOKEN, text)
        assert a == b, (text, a, b)
        assert "".join(a) == text
        presplit["gpt2"].append(a)
        c = regex.findall(GPT4, text)
        assert "".join(c) == text
        presplit["gpt4"].append(c)
        d = regex.findall(GPT2_DIGITS, text)
        assert "".join(d) == text
        presplit["gpt2-digits"].append(d)
    with open(os.path.join(HERE, "presplit.json"), "w", encoding="utf-8") as f:
        json.dump(presplit, f, ensure_ascii=False, indent=0)

    gpt2_dir = os.path.join(ROOT, "Models", "gpt2-tokenizer")
    ranks = data_gym_to_mergeable_bpe_ranks(os.path.join(gpt2_dir, "vocab.bpe"), os.path.join(gpt2_dir, "encoder.json"))
    enc = tiktoken.Encoding("gpt2", pat_str=GPT2_TIKTOKEN, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 50256})
    cases = [{"text": t, "ids": enc.encode_ordinary(t)} for t in texts]
    cases.append({"text": corpus_text(), "ids": enc.encode_ordinary(corpus_text())})
    # Letters new in Unicode 17.0: tiktoken's engine (Unicode 16.0) treats them as unassigned, `regex` as letters,
    # so this case is only in the id fixture.
    unicode17 = "new letters a\u088fb x\u0c5cy \ua7ce\ua7cf z\U00010940\U00010941 w\ua7d2"
    cases.append({"text": unicode17, "ids": enc.encode_ordinary(unicode17)})
    # 6,000 characters of Benchmarks/peers/make_unicode_soup.py's soup: scalars from every plane.
    import sys
    sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "peers"))
    from make_unicode_soup import soup
    mixed = soup(6000, 11)
    cases.append({"text": mixed, "ids": enc.encode_ordinary(mixed)})
    special_text = "first document<|endoftext|>second document <|endoftext|><|endoftext|> end"
    special = {"text": special_text, "ids": enc.encode(special_text, allowed_special={"<|endoftext|>"})}
    with open(os.path.join(HERE, "gpt2_ids.json"), "w", encoding="utf-8") as f:
        json.dump({"tiktoken_version": tiktoken.__version__, "cases": cases, "allowed_special": special},
                  f, ensure_ascii=False)


def unicode_classes():
    """tiktoken's own letter / number / whitespace classes for every scalar (not Python `regex`'s, whose
    Unicode tables are newer: 17.0 against tiktoken's 16.0, 4,657 code points apart). A class is observed
    through chunking with a tiny vocabulary built so each possible split gives different ids:
    "a c c a" is one token iff c is a letter; "1 c 1" is one token iff c is a number; otherwise the token
    "c c" appears iff c is not whitespace."""
    pattern = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
    codes = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF) and c != 0x20]
    classes = {0x20: "whitespace"}
    for begin in range(0, len(codes), 20000):
        batch = codes[begin:begin + 20000]
        ranks = {bytes([k]): k for k in range(256)}
        for code in batch:
            b = chr(code).encode()
            for t in [b[:k] for k in range(2, len(b) + 1)] + [b"a" + b, b"a" + b + b, b"a" + b + b + b"a", b + b,
                                                               b"1" + b, b"1" + b + b"1"]:
                ranks.setdefault(t, len(ranks))
        enc = tiktoken.Encoding("probe", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
        for code in batch:
            b, c = chr(code).encode(), chr(code)
            if enc.encode_ordinary("a" + c + c + "a") == [ranks[b"a" + b + b + b"a"]]:
                classes[code] = "letter"
            elif enc.encode_ordinary("1" + c + "1") == [ranks[b"1" + b + b"1"]]:
                classes[code] = "number"
            elif ranks[b + b] not in enc.encode_ordinary("a" + c + c + "a"):
                classes[code] = "whitespace"
    result = {"tiktoken_version": tiktoken.__version__}
    for name in ("letter", "number", "whitespace"):
        ranges, start, previous = [], None, None
        for code in sorted(k for k, v in classes.items() if v == name):
            if start is None or code != previous + 1:
                if start is not None:
                    ranges.append([start, previous])
                start = code
            previous = code
        if start is not None:
            ranges.append([start, previous])
        result[name] = ranges
    with open(os.path.join(HERE, "unicode_classes.json"), "w") as f:
        json.dump(result, f)


def trained_gpt4():
    with open(os.path.join(HERE, "trained_gpt4_1000.json"), encoding="utf-8") as f:
        data = json.load(f)
    assert data["format"] == "minigpt-bpe-tokenizer" and data["pattern"] == "gpt4"
    ranks = {base64.b64decode(t): i for i, t in enumerate(data["tokens"])}
    enc = tiktoken.Encoding("trained", pat_str=GPT4, mergeable_ranks=ranks, special_tokens=data["special_tokens"])
    texts = sample_texts() + [corpus_text()]
    cases = [{"text": t, "ids": enc.encode_ordinary(t)} for t in texts]
    special_text = "<|pad|><|pad|>a<|endoftext|>b <|pad|> <|endoftext|>"
    special = {"text": special_text, "ids": enc.encode(special_text, allowed_special="all")}
    with open(os.path.join(HERE, "trained_gpt4_ids.json"), "w", encoding="utf-8") as f:
        json.dump({"tiktoken_version": tiktoken.__version__, "cases": cases, "allowed_special": special},
                  f, ensure_ascii=False)


if __name__ == "__main__":
    main()
    trained_gpt4()
    unicode_classes()
