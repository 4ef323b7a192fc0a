"""Hugging Face peer for `minigpt bench generate`: GPT2LMHeadModel (random weights, KV cache) at the same
shapes, batch 1, greedy, llama-bench style numbers: prefill tokens/s of a 256-token prompt, time to first
token, and decode tokens/s of 128 new tokens through `generate`.

    python3 hf_generate.py --shape M --threads 2 [--repeats 5] [--json out.json]

Decode time = generate(prompt, 128 new tokens) minus the prefill of the same run's prompt, so it counts
exactly the 128 one-token steps (127 forward passes plus the sampling loop's overhead, as a user sees it).
Prints a markdown row and (with --json) writes one JSON object. Every run records the CPU that other
processes used meanwhile (from /proc/stat minus this process). Exits 3 if torch or transformers is missing.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
except ImportError:
    print("torch or transformers is not installed; skipping the Hugging Face peer", file=sys.stderr)
    sys.exit(3)

SHAPES = {  # vocab, layers, heads, width, context
    "L": (4096, 6, 6, 384, 512),
    "M": (65, 6, 6, 384, 512),
}


def busy_ticks():
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]


def own_ticks():
    with open("/proc/self/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return float(fields[11]) + float(fields[12])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="M", choices=SHAPES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab, layers, heads, width, context = SHAPES[args.shape]
    config = GPT2Config(vocab_size=vocab, n_positions=context, n_embd=width, n_layer=layers, n_head=heads,
                        resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, activation_function="gelu_new", bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    prompt = torch.randint(0, vocab, (1, args.prompt_tokens))
    mask = torch.ones_like(prompt)

    prefill, first, decode = [], [], []
    hz = os.sysconf("SC_CLK_TCK")
    with torch.inference_mode():
        for run in range(args.warmup + args.repeats):
            if run == args.warmup:
                start_busy, start_own, start_wall = busy_ticks(), own_ticks(), time.perf_counter()
            t0 = time.perf_counter()
            out = model(prompt, use_cache=True)
            out.logits[0, -1].argmax()
            t1 = time.perf_counter()
            t2 = time.perf_counter()
            generated = model.generate(prompt, attention_mask=mask, max_new_tokens=args.new_tokens,
                                       min_new_tokens=args.new_tokens, do_sample=False, pad_token_id=0)
            t3 = time.perf_counter()
            assert generated.shape[1] == args.prompt_tokens + args.new_tokens
            if run >= args.warmup:
                prefill.append(t1 - t0)
                first.append(t1 - t0)
                decode.append(max((t3 - t2) - (t1 - t0), 1e-9))
    wall = time.perf_counter() - start_wall
    foreign = max(0.0, ((busy_ticks() - start_busy) - (own_ticks() - start_own)) / hz / wall)

    p = args.prompt_tokens
    n = args.new_tokens
    result = {
        "peer": "transformers.GPT2LMHeadModel.generate",
        "torch": torch.__version__,
        "shape": args.shape, "threads": args.threads, "promptTokens": p, "newTokens": n,
        "prefillTokensPerSecond": p / statistics.median(prefill),
        "prefillTokensPerSecondRange": [p / max(prefill), p / min(prefill)],
        "timeToFirstTokenMilliseconds": statistics.median(first) * 1e3,
        "decodeTokensPerSecond": n / statistics.median(decode),
        "decodeTokensPerSecondRange": [n / max(decode), n / min(decode)],
        "foreignLoadCores": foreign,
    }
    print(f"| HF {args.shape} | {args.threads} | {result['prefillTokensPerSecond']:.0f} "
          f"({result['prefillTokensPerSecondRange'][0]:.0f}-{result['prefillTokensPerSecondRange'][1]:.0f}) | "
          f"{result['timeToFirstTokenMilliseconds']:.1f} | {result['decodeTokensPerSecond']:.0f} "
          f"({result['decodeTokensPerSecondRange'][0]:.0f}-{result['decodeTokensPerSecondRange'][1]:.0f}) | "
          f"{foreign:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
