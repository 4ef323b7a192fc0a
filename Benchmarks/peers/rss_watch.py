#!/usr/bin/env python3
"""Runs a command and samples its resident memory (VmRSS) every 50 ms; prints one JSON line with the wall
time, the peak, and the peak within each quarter of the run (flat quarters = memory that does not grow).

    python3 Benchmarks/peers/rss_watch.py [--label NAME] -- COMMAND ARGS...
"""
import argparse
import json
import subprocess
import sys
import time


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    samples = []
    while process.poll() is None:
        value = rss_mb(process.pid)
        if value is not None:
            samples.append((time.perf_counter() - start, value))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{command[0]} failed with status {process.returncode}")
    quarters = [max((v for t, v in samples if q * seconds / 4 <= t < (q + 1) * seconds / 4), default=0) for q in range(4)]
    print(json.dumps({"label": args.label, "seconds": round(seconds, 3), "peakMB": round(max((v for _, v in samples), default=0), 1),
                      "peakMBPerQuarter": [round(q, 1) for q in quarters]}))


if __name__ == "__main__":
    main()
