#!/usr/bin/env python3
"""Does the SFT model know the answers its reward model gets wrong? (docs/alignment.md, "What the backbone knows")

Reads a pipeline run directory (sft/, tokenizer.json, data/) and prints, for the test pairs whose rejected
answer is a wrong value:
  1. per family, how often the SFT model's own log-likelihood of the reply prefers the chosen one
     (the same ranking as `LikelihoodRanking` in Swift, computed here independently in PyTorch);
  2. for the capital family, the held-out accuracy of a logistic probe on the SFT model's last hidden state,
     fitted on the training pairs, with the reply as the reward model reads it and with the question asked
     again after the reply.

Needs torch and safetensors (pip) and a release build of minigpt for tokenizing:
  python3 Benchmarks/alignment_recall_probe.py RUN_DIR [.build/release/minigpt]
"""
import collections
import json
import subprocess
import sys

import torch
from safetensors.torch import load_file

from minigpt_torch import final_hidden


class SFTModel:
    """An SFT model directory's weights and config, run through `minigpt_torch`."""

    def __init__(self, directory):
        self.w = load_file(directory + "/model.safetensors")
        self.config = json.load(open(directory + "/config.json"))

    def final_hidden(self, ids):
        return final_hidden(self.w, self.config, [ids])[0][0]  # (T, C)

    def reply_log_likelihood(self, prompt_ids, reply_ids):
        log_probs = (self.final_hidden(prompt_ids + reply_ids) @ self.w["wte"].T).log_softmax(-1)
        start = len(prompt_ids) - 1  # position p predicts token p + 1
        return sum(log_probs[start + i, token].item() for i, token in enumerate(reply_ids))


def main():
    run = sys.argv[1]
    minigpt = sys.argv[2] if len(sys.argv) > 2 else ".build/release/minigpt"
    tokenizer_path = run + "/tokenizer.json"
    specials = json.load(open(tokenizer_path))["special_tokens"]
    user, assistant, end = specials["<|user|>"], specials["<|assistant|>"], specials["<|end|>"]
    cache = {}

    def encode(text):
        if text not in cache:
            out = subprocess.run([minigpt, "tokenizer", "encode", "--tokenizer", tokenizer_path], input=text,
                                 capture_output=True, text=True, check=True).stdout
            cache[text] = [int(t) for t in out.split()]
        return cache[text]

    def prompt_ids(prompt):
        return [user] + encode(prompt) + [end, assistant]

    model = SFTModel(run + "/sft")

    def wrong_value_pairs(split):
        pairs = [json.loads(line) for line in open(f"{run}/data/pairs_{split}.jsonl")]
        return [p for p in pairs if p["failure"] == "wrong"]

    test = wrong_value_pairs("test")
    right = collections.Counter()
    total = collections.Counter()
    for pair in test:
        prompt = prompt_ids(pair["prompt"])
        chosen = model.reply_log_likelihood(prompt, encode(pair["chosen"]) + [end])
        rejected = model.reply_log_likelihood(prompt, encode(pair["rejected"]) + [end])
        right[pair["family"]] += chosen > rejected
        total[pair["family"]] += 1
    print("test pairs with a wrong value rejected: the SFT likelihood prefers the chosen reply in")
    for family in sorted(total):
        print(f"  {family:8} {right[family]:3} of {total[family]:3} ({right[family] / total[family]:.3f})")
    print(f"  {'all':8} {sum(right.values()):3} of {sum(total.values()):3} ({sum(right.values()) / sum(total.values()):.3f})")

    def last_hidden(pair, reply, ask_again):
        ids = prompt_ids(pair["prompt"]) + encode(reply) + [end]
        if ask_again:
            ids += prompt_ids(pair["prompt"])
        return model.final_hidden(ids)[-1]

    capital_train = [p for p in wrong_value_pairs("train") if p["family"] == "capital"]
    capital_test = [p for p in test if p["family"] == "capital"]
    print(f"logistic probe on the last hidden state, capital pairs ({len(capital_train)} train, {len(capital_test)} test):")
    for ask_again in (False, True):
        def differences(pairs):
            return torch.stack([last_hidden(p, p["chosen"], ask_again) - last_hidden(p, p["rejected"], ask_again) for p in pairs])
        x_train, x_test = differences(capital_train), differences(capital_test)
        for decay in (1e-3, 1e-2, 1e-1):
            weights = torch.zeros(x_train.shape[1], requires_grad=True)
            optimizer = torch.optim.Adam([weights], lr=0.01)
            for _ in range(2000):
                optimizer.zero_grad()
                loss = torch.nn.functional.softplus(-(x_train @ weights)).mean() + decay * (weights ** 2).sum()
                loss.backward()
                optimizer.step()
            label = "question asked again" if ask_again else "as the reward model reads it"
            print(f"  {label:29} decay {decay:g}: train {(x_train @ weights > 0).float().mean():.3f}, "
                  f"test {(x_test @ weights > 0).float().mean():.3f}")


if __name__ == "__main__":
    main()
