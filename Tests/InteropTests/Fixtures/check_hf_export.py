"""Loads a directory written by `minigpt export hf` with transformers and reports what it computes.

    python3 check_hf_export.py EXPORT_DIR REQUEST_JSON RESULT_JSON [EXPORT_DIR REQUEST_JSON RESULT_JSON ...]

REQUEST_JSON: {"inputs": [[token ids], ...], "texts": ["...", ...]}, and for a chat model optionally
"chats": [[{"role": ..., "content": ...}, ...], ...] with "max_new_tokens". RESULT_JSON gets the logits of
each input (list of T rows of V floats), the ids AutoTokenizer gives each text and its decoding of them, and
for each chat the ids of apply_chat_template's generation prompt and of the greedy reply `generate` writes
with the export's generation_config.json.
Run by InteropTests; exits with status 77 (the test then skips) when torch or transformers is missing.
"""
import json
import sys

try:
    import torch
    from transformers import AutoTokenizer, GPT2LMHeadModel
except ImportError as error:
    print(f"skipping: {error}", file=sys.stderr)
    sys.exit(77)


def main(directory, request_path, result_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    model = GPT2LMHeadModel.from_pretrained(directory).eval()
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "LM head is not tied"
    tokenizer = AutoTokenizer.from_pretrained(directory)
    with torch.no_grad():
        logits = [model(torch.tensor([ids])).logits[0].tolist() for ids in request["inputs"]]
    ids = [tokenizer.encode(text) for text in request["texts"]]
    result = {"logits": logits, "text_ids": ids, "decoded": [tokenizer.decode(i) for i in ids],
              "model_class": type(model).__name__, "tokenizer_class": type(tokenizer).__name__}
    prompts, replies = [], []
    for messages in request.get("chats", []):
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        # transformers 5 returns a BatchEncoding here, 4 a list of ids.
        prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
        inputs = torch.tensor([prompt])
        output = model.generate(inputs, attention_mask=torch.ones_like(inputs), do_sample=False,
                                max_new_tokens=request["max_new_tokens"], pad_token_id=model.generation_config.eos_token_id)
        prompts.append(prompt)
        replies.append(output[0][len(prompt):].tolist())
    result["chat_prompt_ids"], result["chat_reply_ids"] = prompts, replies
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments or len(arguments) % 3:
        sys.exit(__doc__)
    for i in range(0, len(arguments), 3):
        main(*arguments[i:i + 3])
