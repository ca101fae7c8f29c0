"""The OpenAI Python SDK's legacy completions API through the gateway, and chat against a
text-completion-openai deployment.

Env: GATEWAY_BASE_URL, GATEWAY_KEY, TEXT_MODEL (a /v1/completions deployment), CHAT_MODEL (a
text-completion-openai deployment used through chat).
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
    client = openai.OpenAI(base_url=os.environ["GATEWAY_BASE_URL"], api_key=os.environ["GATEWAY_KEY"], max_retries=0)
    text_model, chat_model = os.environ["TEXT_MODEL"], os.environ["CHAT_MODEL"]

    resp = client.completions.create(model=text_model, prompt="The capital of France is", max_tokens=8)
    check(resp.object == "text_completion", f"completions object {resp.object}")
    check(resp.choices[0].text == "Paris is the capital", f"completion text {resp.choices[0].text!r}")
    check(resp.model == text_model and resp.usage.total_tokens > 0, f"model {resp.model}, usage {resp.usage}")

    text, finish = "", None
    for chunk in client.completions.create(model=text_model, prompt="Count:", max_tokens=8, stream=True):
        for c in chunk.choices:
            text += c.text
            finish = c.finish_reason or finish
    check(text == "one two three" and finish == "stop", f"streamed completion {text!r} {finish}")

    chat = client.chat.completions.create(model=chat_model, messages=[{"role": "user", "content": "Say hi"}])
    check(chat.object == "chat.completion", f"chat object {chat.object}")
    check(chat.choices[0].message.content == "hi there", f"chat content {chat.choices[0].message.content!r}")
    check(chat.choices[0].finish_reason == "stop" and chat.usage.total_tokens > 0, "chat finish and usage")

    text, ids = "", set()
    for chunk in client.chat.completions.create(model=chat_model, messages=[{"role": "user", "content": "Say hi"}],
                                                stream=True, stream_options={"include_usage": True}):
        ids.add(chunk.id)
        check(chunk.object == "chat.completion.chunk", "chunks are chat chunks")
        for c in chunk.choices:
            text += c.delta.content or ""
    check(text == "hi there streamed" and len(ids) == 1, f"streamed chat over completions {text!r} {ids}")


if __name__ == "__main__":
    main()
