#!/usr/bin/env python3
"""Load and faults against `minigpt serve`: N requests from C concurrent clients on loopback, a tenth of them
malformed and a tenth hanging up mid-stream. Passes when the server stays up, every malformed request gets a
400 error object, every well-formed request gets a 200 whose text equals the reply the same request gave
alone (the server runs with --batching rows, so batching cannot change a sequence), and the server's
resident memory after the run is within 10% (+8 MB) of what it was after a warm-up round of the same mix.

    python3 Benchmarks/serve_load.py --requests 2000 --clients 32
"""
import argparse
import concurrent.futures
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "serve"))
from live_server import LiveServer  # noqa: E402
from serve_client import post, streamed_text  # noqa: E402

PROMPTS = [f"The letters {c}" for c in "abcdefgh"]
MALFORMED = [b"{", b"[]", b'{"prompt": 5}', b'{"prompt": "a", "temperature": "hot"}', b'{"prompt": "a", "max_tokens": -1}',
             b'{"prompt": "a", "top_p": 0}', b"\xff\xfe", b'{"prompt": "a", "stop": [1]}', b'{"prompt": "a", "logit_bias": {"x": 1}}']


def resident_kb(pid):
    with open(f"/proc/{pid}/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("VmRSS:"))


def well_formed(index):
    return {"prompt": PROMPTS[index % len(PROMPTS)], "seed": index % 5, "temperature": 0.9, "max_tokens": 24,
            "stream": index % 2 == 0}


def reply_text(reply, stream):
    if stream:
        return streamed_text(reply)[0]
    return json.loads(reply.body)["choices"][0]["text"]


def one(port, kind, index, expected):
    if kind == "malformed":
        reply = post(port, "/v1/completions", MALFORMED[index % len(MALFORMED)])
        ok = reply.status == 400 and "error" in json.loads(reply.body)
        return ok, f"malformed #{index}: {reply.status} {reply.body[:120]!r}"
    if kind == "disconnect":
        body = dict(well_formed(index), stream=True, max_tokens=200)
        post(port, "/v1/completions", body, hang_up_after_events=1)
        return True, ""
    body = well_formed(index)
    reply = post(port, "/v1/completions", body)
    if reply.status != 200:
        return False, f"request #{index}: status {reply.status} {reply.body[:120]!r}"
    text = reply_text(reply, body["stream"])
    key = (body["prompt"], body["seed"])
    return text == expected[key], f"request #{index}: {text!r} != {expected[key]!r}"


def run_mix(port, count, clients, expected, rng):
    kinds = ["malformed"] * (count // 10) + ["disconnect"] * (count // 10)
    kinds += ["normal"] * (count - len(kinds))
    rng.shuffle(kinds)
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda item: one(port, item[1], item[0], expected), enumerate(kinds)))
    failures = [message for ok, message in results if not ok]
    return kinds, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/release/minigpt")
    parser.add_argument("--model", default="Models/tiny-assistant")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    rng = random.Random(27)
    with LiveServer(args.binary, args.model, "--parallel", "16", "--queue", str(4 * args.clients), "--batching", "rows") as server:
        port = int(server.url.rsplit(":", 1)[1])
        # What each distinct request gives alone, one at a time.
        expected = {}
        for index in range(len(PROMPTS) * 5):
            body = dict(well_formed(index), stream=False)
            reply = post(port, "/v1/completions", body)
            expected[(body["prompt"], body["seed"])] = json.loads(reply.body)["choices"][0]["text"]
        run_mix(port, max(100, args.requests // 10), args.clients, expected, rng)  # warm-up: same mix
        before = resident_kb(server.process.pid)
        started = time.perf_counter()
        kinds, failures = run_mix(port, args.requests, args.clients, expected, rng)
        elapsed = time.perf_counter() - started
        time.sleep(1)
        after = resident_kb(server.process.pid)
        alive = post(port, "/v1/completions", {"prompt": "a", "max_tokens": 2}).status == 200
    counts = {kind: kinds.count(kind) for kind in ("normal", "malformed", "disconnect")}
    flat = after <= before * 1.10 + 8 * 1024
    print(f"{args.requests} requests from {args.clients} clients in {elapsed:.1f} s: {counts}")
    print(f"failures: {len(failures)}; server alive afterwards: {alive}; exited 0 on SIGTERM: yes")
    print(f"resident memory: {before / 1024:.1f} MB after warm-up, {after / 1024:.1f} MB after the run ({'flat' if flat else 'GREW'})")
    for message in failures[:10]:
        print("  " + message)
    if failures or not alive or not flat:
        sys.exit(1)


if __name__ == "__main__":
    main()
