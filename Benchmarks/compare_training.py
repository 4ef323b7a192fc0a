"""Training speed, MiniGPT vs PyTorch, measured side by side on this machine.

For each round, shape and thread count it runs `minigpt bench train` and the PyTorch peer
(peers/train_torch.py) one after the other, alternating which goes first, and reports the median
over rounds of each side's median ms/step and the ratio. Without torch the peer is skipped (said so).

    swift build -c release
    python3 Benchmarks/compare_training.py [--shapes S,M] [--threads 1,2] [--rounds 3] [--out Benchmarks/results/training]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.path.join(ROOT, ".build", "release", "minigpt")


def ours(shape, threads, repeats):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([BINARY, "bench", "train", "--shapes", shape, "--threads", str(threads), "--repeats", str(repeats),
                        "--json", out.name], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = json.load(open(out.name))["training"][0]
    return result["milliseconds"]["samplesMilliseconds"], result["foreignLoadCores"]


def peer(shape, threads, repeats, compiled):
    command = [sys.executable, os.path.join(HERE, "peers", "train_torch.py"), "--shape", shape, "--threads", str(threads),
               "--repeats", str(repeats)] + (["--compile"] if compiled else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 3:
        return None
    done.check_returncode()
    return json.loads(done.stdout.strip().splitlines()[-1])["ms_median"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="S,M")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "training"))
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        sys.exit("build first: swift build -c release")
    rows = []
    for shape in args.shapes.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            mine, theirs, compiled, loads = [], [], [], []
            for round_index in range(args.rounds):
                order = ["ours", "peer"] if round_index % 2 == 0 else ["peer", "ours"]
                for side in order:
                    if side == "ours":
                        samples, load = ours(shape, threads, args.repeats)
                        mine.append(statistics.median(samples))
                        loads.append(load)
                    else:
                        result = peer(shape, threads, args.repeats, False)
                        if result is not None:
                            theirs.append(result)
                        if args.compile and result is not None:
                            compiled.append(peer(shape, threads, args.repeats, True))
            row = {"shape": shape, "threads": threads, "ours_ms": statistics.median(mine),
                   "foreign_load_cores": max(loads), "rounds": args.rounds}
            if theirs:
                row["pytorch_eager_ms"] = statistics.median(theirs)
                row["speedup_vs_eager"] = row["pytorch_eager_ms"] / row["ours_ms"]
            if compiled:
                row["pytorch_compile_ms"] = statistics.median(compiled)
                row["speedup_vs_compile"] = row["pytorch_compile_ms"] / row["ours_ms"]
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as handle:
        json.dump(rows, handle, indent=2)
    lines = ["| shape | threads | MiniGPT ms/step | PyTorch eager ms/step | speedup | foreign load (max cores) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        eager = f"{row['pytorch_eager_ms']:.1f}" if "pytorch_eager_ms" in row else "skipped (no torch)"
        speedup = f"{row['speedup_vs_eager']:.2f}x" if "speedup_vs_eager" in row else "-"
        lines.append(f"| {row['shape']} | {row['threads']} | {row['ours_ms']:.1f} | {eager} | {speedup} | {row['foreign_load_cores']:.2f} |")
    table = "\n".join(lines) + "\n"
    with open(args.out + ".md", "w") as handle:
        handle.write(table)
    print(table)


if __name__ == "__main__":
    main()
