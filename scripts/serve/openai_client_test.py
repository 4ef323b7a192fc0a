#!/usr/bin/env python3
"""The official `openai` Python package against a live `minigpt serve`: chat and text completions, streamed
and not, usage, errors, the API key, and 16 concurrent streams that must each give the text the same request
gives alone. Exits non-zero on the first failure.

    pip install openai
    python3 scripts/serve/openai_client_test.py --binary .build/release/minigpt --model Models/tiny-assistant
"""
import argparse
import concurrent.futures

import openai

from live_server import LiveServer, check, run_checks


def chat_checks(client):
    models = client.models.list()
    check([m.id for m in models.data] == ["tiny-assistant"], f"models: {models}")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse the letters a b c"}]
    whole = client.chat.completions.create(model="tiny-assistant", messages=messages, seed=5, temperature=0.9, max_tokens=24)
    choice = whole.choices[0]
    check(choice.message.role == "assistant" and isinstance(choice.message.content, str), f"chat reply: {whole}")
    check(choice.finish_reason in ("stop", "length"), f"finish_reason: {choice.finish_reason}")
    check(whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens > 0, f"usage: {whole.usage}")
    pieces, finish, usage = [], None, None
    stream = client.chat.completions.create(model="tiny-assistant", messages=messages, seed=5, temperature=0.9, max_tokens=24,
                                            stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for part in chunk.choices:
            pieces.append(part.delta.content or "")
            finish = part.finish_reason or finish
    check("".join(pieces) == choice.message.content, f"streamed {''.join(pieces)!r} != whole {choice.message.content!r}")
    check(finish == choice.finish_reason, f"streamed finish {finish} != {choice.finish_reason}")
    check(usage is not None and usage.completion_tokens == whole.usage.completion_tokens, f"stream usage: {usage}")
    print(f"chat: {choice.message.content!r} ({choice.finish_reason}, {whole.usage.completion_tokens} tokens), streamed alike")


def completion_checks(client):
    whole = client.completions.create(model="tiny-assistant", prompt="The letters", seed=7, temperature=1, max_tokens=30)
    text = whole.choices[0].text
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="tiny-assistant", prompt="The letters", seed=7, temperature=1, max_tokens=30, stream=True) if c.choices)
    check(streamed == text, f"streamed completion {streamed!r} != {text!r}")
    check(whole.choices[0].finish_reason in ("stop", "length"), f"completion: {whole}")
    print(f"completion: {text!r}")


def error_checks(client):
    try:
        client.chat.completions.create(model="tiny-assistant", messages=[{"role": "user", "content": "hi"}], temperature=5)
    except openai.BadRequestError as error:
        check(error.status_code == 400 and "temperature" in str(error), f"error: {error}")
    else:
        raise AssertionError("temperature 5 was accepted")
    print("errors: temperature 5 -> 400 BadRequestError")


def concurrency_checks(client, count=16):
    def run(index):
        stream = client.completions.create(model="tiny-assistant", prompt=f"The letters {index}", seed=index, temperature=0.8,
                                           max_tokens=40, stream=True)
        return "".join(c.choices[0].text for c in stream if c.choices)

    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        together = list(pool.map(run, range(count)))
    alone = [run(index) for index in range(count)]
    for index, (a, b) in enumerate(zip(together, alone)):
        check(a == b, f"stream {index}: concurrent {a!r} != alone {b!r}")
    print(f"concurrency: {count} concurrent streams equal their one-at-a-time replies")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/release/minigpt")
    parser.add_argument("--model", default="Models/tiny-assistant")
    args = parser.parse_args()
    # Row-by-row batching: every sequence is bit for bit what it is alone, so concurrent text can be compared exactly.
    with LiveServer(args.binary, args.model, "--parallel", "16", "--batching", "rows") as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)
        chat_checks(client)
        completion_checks(client)
        error_checks(client)
        concurrency_checks(client)
    with LiveServer(args.binary, args.model, "--api-key", "sesame") as server:
        try:
            openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0).models.list()
        except openai.AuthenticationError as error:
            check(error.status_code == 401, f"error: {error}")
        else:
            raise AssertionError("a wrong API key was accepted")
        openai.OpenAI(base_url=server.url + "/v1", api_key="sesame", max_retries=0).models.list()
        print("api key: wrong key -> 401 AuthenticationError, right key -> 200")
    print("openai client checks passed; both servers exited 0 on SIGTERM")


if __name__ == "__main__":
    run_checks(main)
