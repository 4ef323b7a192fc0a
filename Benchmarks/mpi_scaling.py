"""Data-parallel training speed on one machine, side by side in one run: for each shape, MiniGPT as one
process of 2 threads, MiniGPT as 2 MPI ranks of 1 thread, and PyTorch DDP (gloo) as 2 processes of 1 thread,
alternating the order over rounds. Reports median tokens/s, the 2-rank scaling efficiency (2 ranks x 1 thread
against 1 process x 2 threads) and ours against DDP. Without torch the peer is skipped (said so).

    swift build -c release --traits MPI --scratch-path .build-mpi
    python3 Benchmarks/mpi_scaling.py [--shapes S,M,L] [--rounds 3] [--repeats 10] [--out Benchmarks/results/mpi]
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
MPI_BINARY = os.path.join(ROOT, ".build-mpi", "release", "minigpt")
ROOT_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def ours(shape, processes, threads, repeats):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [MPI_BINARY, "bench", "train", "--shapes", shape, "--threads", str(threads), "--repeats", str(repeats),
                   "--json", out.name]
        if processes > 1:
            command = ["mpirun", "-np", str(processes), "--bind-to", "core"] + command
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ROOT_ENV)
        result = json.load(open(out.name))
    return result["training"][0]["tokensPerSecond"], result["machine"]["cpuModel"]


def ddp(shape, repeats):
    command = [sys.executable, os.path.join(HERE, "peers", "train_torch_ddp.py"), "--shape", shape, "--procs", "2",
               "--threads", "1", "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 3:
        return None
    done.check_returncode()
    return json.loads(done.stdout.strip().splitlines()[-1])["tokens_per_sec"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="S,M,L")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "mpi"))
    args = parser.parse_args()
    if not os.path.exists(MPI_BINARY):
        sys.exit("build first: swift build -c release --traits MPI --scratch-path .build-mpi")
    rows, cpu = [], "?"
    for shape in args.shapes.split(","):
        samples = {"1x2": [], "2x1": [], "ddp": []}
        for round_index in range(args.rounds):
            sides = ["1x2", "2x1", "ddp"]
            for side in sides[round_index % 3:] + sides[:round_index % 3]:
                if side == "ddp":
                    value = ddp(shape, args.repeats)
                    if value is None:
                        print("PyTorch DDP skipped: torch is not installed", file=sys.stderr)
                        continue
                else:
                    value, cpu = ours(shape, int(side[0]), int(side[2]), args.repeats)
                samples[side].append(value)
        median = {side: statistics.median(values) if values else None for side, values in samples.items()}
        rows.append({"shape": shape, "tokens_per_sec": median, "rounds": args.rounds,
                     "efficiency_2x1_over_1x2": median["2x1"] / median["1x2"],
                     "ours_2x1_over_ddp": median["2x1"] / median["ddp"] if median["ddp"] else None})
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as handle:
        json.dump({"cpu": cpu, "rows": rows}, handle, indent=2)
    lines = [f"CPU: {cpu}; median tokens/s over {args.rounds} rounds (sides alternated)", "",
             "| shape | 1 process x 2 threads | 2 ranks x 1 thread | PyTorch DDP 2 x 1 | 2 ranks / 1 process | ours / DDP |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        t = row["tokens_per_sec"]
        peer = f"{t['ddp']:.0f}" if t["ddp"] else "skipped"
        versus = f"{row['ours_2x1_over_ddp']:.2f}x" if row["ours_2x1_over_ddp"] else "-"
        lines.append(f"| {row['shape']} | {t['1x2']:.0f} | {t['2x1']:.0f} | {peer} | {row['efficiency_2x1_over_1x2']:.0%} | {versus} |")
    open(args.out + ".md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
