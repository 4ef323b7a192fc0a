#!/usr/bin/env python3
"""Throughput and latency of `minigpt serve` under concurrent streaming load.

Starts the server (release build) on a free port, then for each concurrency level c runs c clients that each
stream `--requests-per-client` completions of exactly `--tokens` tokens (the end-of-text token is banned), and
reports: aggregate generated tokens/s, p50/p99 time to first token, p50/p99 inter-token latency. One warm-up
round first; results as JSON and a markdown table.

    python3 Benchmarks/serve_bench.py --model Models/tiny-assistant --concurrency 1 4 16
    python3 Benchmarks/serve_bench.py --model runs/L --batching rows      # one matrix-vector product per row

Numbers are only meaningful on a quiet machine; name the CPU beside them.
"""
import argparse
import concurrent.futures
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "serve"))
from live_server import LiveServer  # noqa: E402
from serve_client import post, streamed_text  # noqa: E402


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def end_of_text_id(model):
    with open(os.path.join(model, "tokenizer.json")) as file:
        tokenizer = json.load(file)
    specials = tokenizer.get("special_tokens") or tokenizer.get("specialTokens") or {}
    return specials.get("<|endoftext|>") if isinstance(specials, dict) else None


def one_stream(port, index, tokens, banned):
    body = {"prompt": f"The letters {index % 7}", "max_tokens": tokens, "temperature": 0.8, "seed": index, "stream": True,
            "stream_options": {"include_usage": True}}
    if banned is not None:
        body["logit_bias"] = {str(banned): -100}
    reply = post(port, "/v1/completions", body)
    if reply.status != 200:
        raise RuntimeError(f"status {reply.status}: {reply.body[:200]!r}")
    _, finish, usage = streamed_text(reply)
    times = [t for t, payload in reply.events if payload != "[DONE]" and '"text":""' not in payload]
    return {"tokens": usage["completion_tokens"], "ttft": times[0] - reply.started,
            "gaps": [b - a for a, b in zip(times, times[1:])], "end": reply.events[-1][0]}


def run_level(port, concurrency, per_client, tokens, banned):
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(one_stream, port, i, tokens, banned) for i in range(concurrency * per_client)]
        results = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    gaps = [g for r in results for g in r["gaps"]]
    return {"concurrency": concurrency, "requests": len(results), "tokens": sum(r["tokens"] for r in results),
            "seconds": elapsed, "tokens_per_second": sum(r["tokens"] for r in results) / elapsed,
            "ttft_p50_ms": 1000 * percentile([r["ttft"] for r in results], 50),
            "ttft_p99_ms": 1000 * percentile([r["ttft"] for r in results], 99),
            "itl_p50_ms": 1000 * percentile(gaps, 50), "itl_p99_ms": 1000 * percentile(gaps, 99)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/release/minigpt")
    parser.add_argument("--model", default="Models/tiny-assistant")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests-per-client", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--batching", default="matrix", choices=["matrix", "rows"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    extra = ["--parallel", str(max(args.concurrency)), "--batching", args.batching]
    if args.threads:
        extra += ["--threads", str(args.threads)]
    banned = end_of_text_id(args.model)
    with LiveServer(args.binary, args.model, *extra) as server:
        port = int(server.url.rsplit(":", 1)[1])
        run_level(port, 1, 1, min(16, args.tokens), banned)  # warm-up
        rows = [run_level(port, c, args.requests_per_client, args.tokens, banned) for c in args.concurrency]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    print(f"minigpt serve, {args.model}, batching {args.batching}, {args.tokens} tokens per request, {cpu}, {os.cpu_count()} cores")
    print("| concurrency | requests | tokens/s | vs c=1 | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0]["tokens_per_second"]
    for r in rows:
        print(f"| {r['concurrency']} | {r['requests']} | {r['tokens_per_second']:.0f} | {r['tokens_per_second'] / base:.2f}x | "
              f"{r['ttft_p50_ms']:.1f} | {r['ttft_p99_ms']:.1f} | {r['itl_p50_ms']:.2f} | {r['itl_p99_ms']:.2f} |")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"model": args.model, "batching": args.batching, "cpu": cpu, "levels": rows}, file, indent=2)


if __name__ == "__main__":
    main()
