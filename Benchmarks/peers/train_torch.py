"""PyTorch peer for `minigpt bench train`: the same GPT-2-style model, shapes and optimizer step.

Model: token + learned position embeddings, pre-LayerNorm blocks of causal self-attention and a
tanh-GELU MLP (4x), final LayerNorm, LM head tied to the token embedding, no dropout. One step is
forward + cross-entropy + backward + global-norm clip + AdamW, on random tokens, as in ours.

    python3 train_torch.py --shape S --threads 2 [--compile] [--repeats 10] [--json out.json]

Prints one JSON object: median/min/max ms per step and tokens/s. Exits 3 if torch is missing.
"""
import argparse
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed", file=sys.stderr)
    sys.exit(3)

SHAPES = {  # vocab, layers, heads, width, context, batch
    "S": (65, 4, 4, 128, 64, 12),
    "M": (65, 6, 6, 384, 256, 8),
    "L": (4096, 6, 6, 384, 256, 8),
}


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.c_fc = nn.Linear(width, 4 * width)
        self.mlp_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, layers, heads, width, context):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.T
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def timed_steps(step, vocab, warmup, repeats, before_each=lambda: None):
    """Validates the first step (a fresh model's loss is near ln(vocab), as ours), warms up, then returns
    the milliseconds of `repeats` steps."""
    first = step()
    if not abs(first - math.log(vocab)) < 0.2:
        print(f"validation failed: initial loss {first}, expected about {math.log(vocab)}", file=sys.stderr)
        sys.exit(1)
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(repeats):
        before_each()
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=SHAPES, default="S")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab, layers, heads, width, context, batch = SHAPES[args.shape]
    model = GPT(vocab, layers, heads, width, context)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    step_model = torch.compile(model) if args.compile else model
    idx = torch.randint(vocab, (batch, context))
    targets = torch.randint(vocab, (batch, context))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = step_model(idx, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    samples = timed_steps(step, vocab, args.warmup, args.repeats)
    median = statistics.median(samples)
    print(json.dumps({"peer": "pytorch-compile" if args.compile else "pytorch-eager", "torch": torch.__version__,
                      "shape": args.shape, "threads": args.threads, "ms_median": median, "ms_min": min(samples),
                      "ms_max": max(samples), "tokens_per_sec": batch * context / (median / 1000)}))


if __name__ == "__main__":
    main()
