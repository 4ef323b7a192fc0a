"""PyTorch DistributedDataParallel peer for MiniGPT's MPI training: the model and step of train_torch.py,
run by --procs processes (gloo backend, loopback) of --threads threads each, every process taking its share
of the shape's global batch. Rank 0 prints one JSON object (median ms/step, tokens/s of the global batch).

    python3 Benchmarks/peers/train_torch_ddp.py --shape M --procs 2 --threads 1 [--repeats 10]

Exits 3 if torch is missing.
"""
import argparse
import json
import os
import statistics
import sys

try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
except ImportError:
    print("torch is not installed", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_torch import GPT, SHAPES, timed_steps  # noqa: E402


def worker(rank, args, port):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=args.procs)
    torch.manual_seed(0)
    vocab, layers, heads, width, context, batch = SHAPES[args.shape]
    model = torch.nn.parallel.DistributedDataParallel(GPT(vocab, layers, heads, width, context))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    rows = range(batch * rank // args.procs, batch * (rank + 1) // args.procs)
    idx = torch.randint(vocab, (batch, context))[rows.start:rows.stop]
    targets = torch.randint(vocab, (batch, context))[rows.start:rows.stop]

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model(idx, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    samples = timed_steps(step, vocab, args.warmup, args.repeats, before_each=dist.barrier)
    if rank == 0:
        median = statistics.median(samples)
        print(json.dumps({"peer": "pytorch-ddp-gloo", "torch": torch.__version__, "shape": args.shape,
                          "procs": args.procs, "threads": args.threads, "ms_median": median, "ms_min": min(samples),
                          "ms_max": max(samples), "tokens_per_sec": batch * context / (median / 1000)}), flush=True)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=SHAPES, default="M")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--port", type=int, default=29571)
    args = parser.parse_args()
    mp.spawn(worker, args=(args, args.port), nprocs=args.procs, join=True)


if __name__ == "__main__":
    main()
