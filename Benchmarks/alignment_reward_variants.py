#!/usr/bin/env python3
"""Reward-model training variants, outside the Swift code (docs/alignment.md, "Regularising the reward model").

Retrains the final reward model of a pipeline run in PyTorch, from the run's SFT model, on the run's written
pairs and the judged policy samples of its last reward model (RUN/rm/policy_pairs.jsonl), drawn per batch as
`RewardConfig` does (16 pairs, 30% sampled, 600 steps, AdamW betas 0.9/0.99, lr 1e-4 for the backbone and
3e-3 for the head, warm-up 20 then cosine to a tenth, each part's gradient clipped to norm 1, the weights
with the best validation loss of the checks every 100 steps kept). Prints the test accuracy, per family,
and how many of the test pairs whose rejected answer is another capital it ranks right.

Variants: --lm W adds W x the next-token loss on the chosen replies (the SFT loss as a regulariser);
--freeze-embeddings and --freeze-blocks K keep those weights at the SFT model's; --save FILE keeps the
weights, --soup FILE... scores the average of saved weights instead of training (weight averaging), and
--ensemble FILE... ranks each pair by the mean of the saved models' rewards (an ensemble). A FILE not ending
in .pt is read as a `minigpt reward train` output directory.

Needs torch and safetensors (pip) and a release build of minigpt for tokenizing:
  python3 Benchmarks/alignment_reward_variants.py RUN_DIR --seed 1 [--lm 1] [--minigpt .build/release/minigpt]
"""
import argparse
import collections
import json
import math
import random
import subprocess

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from minigpt_torch import final_hidden

parser = argparse.ArgumentParser()
parser.add_argument("run")
parser.add_argument("--minigpt", default=".build/release/minigpt")
parser.add_argument("--seed", type=int, default=1337)
parser.add_argument("--lm", type=float, default=0.0)
parser.add_argument("--freeze-embeddings", action="store_true")
parser.add_argument("--freeze-blocks", type=int, default=0)
parser.add_argument("--save", default="")
parser.add_argument("--soup", nargs="*", default=[])
parser.add_argument("--ensemble", nargs="*", default=[])
args = parser.parse_args()
torch.set_num_threads(1)
STEPS, BATCH, SAMPLED_SHARE, WARMUP, EVAL_EVERY = 600, 16, 0.3, 20, 100
LR, HEAD_LR = 1e-4, 3e-3


def load(path):
    return [json.loads(line) for line in open(path)]


run = args.run
tokenizer = run + "/tokenizer.json"
specials = json.load(open(tokenizer))["special_tokens"]
USER, ASSISTANT, END = specials["<|user|>"], specials["<|assistant|>"], specials["<|end|>"]
written, validation, test = (load(f"{run}/data/pairs_{split}.jsonl") for split in ("train", "val", "test"))
sampled = load(run + "/rm/policy_pairs.jsonl")


def encode_all(texts):
    """Token ids of every text. Texts without a newline or outer space go through one minigpt call, joined
    by newlines: the pre-split makes a lone newline its own piece, so the ids split back exactly."""
    def encode(text):
        out = subprocess.run([args.minigpt, "tokenizer", "encode", "--tokenizer", tokenizer], input=text,
                             capture_output=True, text=True, check=True).stdout
        return [int(t) for t in out.split()]
    odd = {t for t in texts if "\n" in t or t != t.strip() or not t}
    plain = [t for t in texts if t not in odd]
    ids = {t: encode(t) for t in odd}
    newline = encode("a\nb")[1]
    pieces = [[]]
    for token in encode("\n".join(plain)):
        if token == newline:
            pieces.append([])
        else:
            pieces[-1].append(token)
    assert len(pieces) == len(plain)
    ids.update(zip(plain, pieces))
    for text in plain[::500]:
        assert ids[text] == encode(text), text
    return ids


ids = encode_all(sorted({t for pairs in (written, validation, test, sampled) for p in pairs
                         for t in (p["prompt"], p["chosen"], p["rejected"])}))


def exchange(prompt, reply):
    return [USER] + ids[prompt] + [END, ASSISTANT] + ids[reply] + [END]


config = json.load(open(run + "/sft/config.json"))
WIDTH = config["width"]
torch.manual_seed(args.seed)
random.seed(args.seed)
weights = {k: torch.nn.Parameter(v.float().clone()) for k, v in load_file(run + "/sft/model.safetensors").items()}
head = torch.nn.Parameter(torch.zeros(WIDTH + 1))  # w (C) then b


def forward(sequences):
    """Rewards (B) read at each sequence's last token, final hidden states (B, T, C) and the tokens (B, T)."""
    hidden, tokens = final_hidden(weights, config, sequences)
    last = torch.tensor([len(s) - 1 for s in sequences])
    return hidden[torch.arange(len(sequences)), last] @ head[:WIDTH] + head[WIDTH], hidden, tokens


def margins(pairs):
    """r(chosen) - r(rejected) of each pair, with the current weights."""
    out = []
    with torch.no_grad():
        for start in range(0, len(pairs), 64):
            chunk = pairs[start:start + 64]
            r, _, _ = forward([exchange(p["prompt"], p["chosen"]) for p in chunk] +
                              [exchange(p["prompt"], p["rejected"]) for p in chunk])
            out += (r[:len(chunk)] - r[len(chunk):]).tolist()
    return out


def metrics(pairs, pair_margins=None):
    """Mean pairwise loss, accuracy, accuracy per family, and (right, total) on wrong-capital pairs."""
    if pair_margins is None:
        pair_margins = margins(pairs)
    families = collections.defaultdict(list)
    for p, m in zip(pairs, pair_margins):
        families[p["family"]].append(m > 0)
    capital = [m > 0 for p, m in zip(pairs, pair_margins) if p["family"] == "capital" and p["failure"] == "wrong"]
    loss = sum(F.softplus(torch.tensor(-m)).item() for m in pair_margins) / len(pair_margins)
    return (loss, sum(m > 0 for m in pair_margins) / len(pair_margins),
            {f: sum(v) / len(v) for f, v in sorted(families.items())}, (sum(capital), len(capital)))


def report(label, validation_loss, test_margins=None):
    loss, accuracy, families, (right, total) = metrics(test, test_margins)
    print(f"{label}: validation loss {validation_loss:.3f}, test accuracy {accuracy:.3f} (loss {loss:.3f}), "
          f"wrong capital {right}/{total} | " + " ".join(f"{f} {a:.2f}" for f, a in families.items()), flush=True)


def saved(path):
    """Weights saved by --save, or those of a `minigpt reward train` output directory."""
    if path.endswith(".pt"):
        return torch.load(path)
    reward_head = load_file(path + "/reward_head.safetensors")
    return {"weights": {k: v.float() for k, v in load_file(path + "/model.safetensors").items()},
            "head": torch.cat([reward_head["reward_head.weight"].float().reshape(-1), reward_head["reward_head.bias"].float()])}


def use(state):
    with torch.no_grad():
        for name in weights:
            weights[name].copy_(state["weights"][name])
        head.copy_(state["head"])


if args.ensemble:
    # An ensemble: each pair ranked by the mean of the saved models' rewards (so by the mean of their margins).
    validation_margins, test_margins = [0.0] * len(validation), [0.0] * len(test)
    for path in args.ensemble:
        use(saved(path))
        validation_margins = [a + b / len(args.ensemble) for a, b in zip(validation_margins, margins(validation))]
        test_margins = [a + b / len(args.ensemble) for a, b in zip(test_margins, margins(test))]
    report(f"ensemble of {len(args.ensemble)}", metrics(validation, validation_margins)[0], test_margins)
    raise SystemExit

if args.soup:
    states = [saved(path) for path in args.soup]
    use({"weights": {name: sum(s["weights"][name] for s in states) / len(states) for name in weights},
         "head": sum(s["head"] for s in states) / len(states)})
    report(f"average of {len(states)}", metrics(validation)[0])
    raise SystemExit

frozen = ({"wte", "wpe"} if args.freeze_embeddings else set()) | \
    {name for name in weights for layer in range(args.freeze_blocks) if name.startswith(f"h.{layer}.")}
backbone = [w for name, w in weights.items() if name not in frozen]
for name in frozen:
    weights[name].requires_grad_(False)
optimizer = torch.optim.AdamW([{"params": backbone, "lr": LR}, {"params": [head], "lr": HEAD_LR}],
                              betas=(0.9, 0.99), weight_decay=0.0)
best = (math.inf, 0, None)
for step in range(STEPS):
    progress = (step - WARMUP) / (STEPS - WARMUP)
    scale = (step + 1) / (WARMUP + 1) if step < WARMUP else 0.1 + 0.45 * (1 + math.cos(math.pi * progress))
    optimizer.param_groups[0]["lr"], optimizer.param_groups[1]["lr"] = LR * scale, HEAD_LR * scale
    batch = [random.choice(sampled if random.random() < SAMPLED_SHARE else written) for _ in range(BATCH)]
    chosen = [exchange(p["prompt"], p["chosen"]) for p in batch]
    rewards, hidden, tokens = forward(chosen + [exchange(p["prompt"], p["rejected"]) for p in batch])
    loss = F.softplus(rewards[BATCH:] - rewards[:BATCH]).mean()
    if args.lm > 0:
        # Next-token loss on the chosen replies and their <|end|>, the prompt masked as in SFT.
        targets = tokens[:BATCH, 1:].clone()
        for i, p in enumerate(batch):
            targets[i, :len(ids[p["prompt"]]) + 2] = -100
            targets[i, len(chosen[i]) - 1:] = -100
        logits = hidden[:BATCH, :-1] @ weights["wte"].T
        loss = loss + args.lm * F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(backbone, 1.0)
    torch.nn.utils.clip_grad_norm_([head], 1.0)
    optimizer.step()
    if (step + 1) % EVAL_EVERY == 0:
        validation_loss = metrics(validation)[0]
        if validation_loss < best[0]:
            best = (validation_loss, step + 1,
                    {"weights": {k: v.detach().clone() for k, v in weights.items()}, "head": head.detach().clone()})
use(best[2])
if args.save:
    torch.save(best[2], args.save)
report(f"seed {args.seed}, step {best[1]}", best[0])
