"""Drives the gateway with the official OpenAI Python SDK, as a user's program would.

Env: GATEWAY_BASE_URL (http://127.0.0.1:PORT/v1), GATEWAY_KEY, MODEL, EMBED_MODEL.
Prints one `ok: ...` line per check; exits non-zero on the first failure.
"""
import os
import sys

import openai


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    base, key = os.environ["GATEWAY_BASE_URL"], os.environ["GATEWAY_KEY"]
    model, embed_model = os.environ["MODEL"], os.environ["EMBED_MODEL"]
    client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
    messages = [{"role": "user", "content": "Hello!"}]

    resp = client.chat.completions.create(model=model, messages=messages)
    check(resp.choices[0].message.content, "chat completion has content")
    check(resp.model == model, f"response model is the requested one ({resp.model})")
    check(resp.usage and resp.usage.total_tokens > 0, "usage reported")

    text, finish, usage = "", None, None
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True,
                                                stream_options={"include_usage": True}):
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    check(text and finish == "stop" and usage is not None, f"streaming: {text!r}, finish {finish}, usage {usage}")

    emb = client.embeddings.create(model=embed_model, input=["a", "b"])
    check(len(emb.data) == 2 and len(emb.data[0].embedding) > 0, "embeddings: two vectors")

    ids = [m.id for m in client.models.list()]
    check(model in ids, f"models list contains {model}: {ids}")

    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
    check(raw.headers.get("x-litellm-call-id"), "x-litellm-call-id header present")
    check(raw.headers.get("x-switchyard-cache") is None, "no caching without opting in (mode: default_off)")

    opt_in = {"cache": {"use-cache": True}}
    cached_q = [{"role": "user", "content": "Cache me"}]
    first = client.chat.completions.with_raw_response.create(model=model, messages=cached_q, extra_body=opt_in)
    second = client.chat.completions.with_raw_response.create(model=model, messages=cached_q, extra_body=opt_in)
    check(first.headers.get("x-switchyard-cache") == "miss" and second.headers.get("x-switchyard-cache") == "hit",
          "extra_body cache control: miss then hit")
    check(second.parse().choices[0].message.content == first.parse().choices[0].message.content,
          "a hit answers what the miss answered")

    try:
        client.chat.completions.create(model="no-such-model", messages=messages)
        check(False, "unknown model raises")
    except openai.BadRequestError as e:
        check("no-such-model" in str(e), "unknown model raises BadRequestError")

    try:
        openai.OpenAI(base_url=base, api_key="sk-wrong", max_retries=0).chat.completions.create(
            model=model, messages=messages)
        check(False, "wrong key raises")
    except openai.AuthenticationError:
        check(True, "wrong key raises AuthenticationError")


if __name__ == "__main__":
    main()
