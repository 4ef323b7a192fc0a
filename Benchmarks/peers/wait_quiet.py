#!/usr/bin/env python3
"""Waits until the machine is quiet: other processes use less than --max-busy cores (from /proc/stat,
sampled over one second), or --timeout seconds pass. Prints the busy level it started at, so a benchmark
run shows what it competed with. Linux only; prints nothing useful elsewhere.

    python3 Benchmarks/peers/wait_quiet.py [--max-busy 0.15] [--timeout 300]
"""
import argparse
import time


def busy_cores(interval=1.0):
    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)
    busy0, total0 = sample()
    time.sleep(interval)
    busy1, total1 = sample()
    cores = 0
    with open("/proc/stat") as f:
        cores = sum(1 for line in f if line.startswith("cpu") and line[3].isdigit())
    return (busy1 - busy0) / max(total1 - total0, 1) * cores


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-busy", type=float, default=0.15)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    start = time.time()
    busy = busy_cores()
    while busy > args.max_busy and time.time() - start < args.timeout:
        busy = busy_cores()
    print(f"{busy:.2f} busy cores after waiting {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
