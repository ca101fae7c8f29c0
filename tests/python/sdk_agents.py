"""Both agent SDKs against every model group: the official Anthropic SDK's messages.create and
messages.stream, and the official OpenAI SDK's responses.create (plain and streamed).

Env: GATEWAY_URL (no /v1), GATEWAY_KEY, MODELS (comma-separated model groups).
"""
import os
import sys

import anthropic
import openai


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    base, key = os.environ["GATEWAY_URL"], os.environ["GATEWAY_KEY"]
    claude = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
    oai = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
    for model in os.environ["MODELS"].split(","):
        msg = claude.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
        check(msg.content and msg.content[0].text and msg.stop_reason == "end_turn",
              f"{model}: messages {msg.content[0].text if msg.content else None!r}")
        with claude.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]) as s:
            text = "".join(s.text_stream)
        check(text, f"{model}: messages stream {text!r}")
        r = oai.responses.create(model=model, input="Hi")
        check(r.status == "completed" and r.output_text, f"{model}: responses {r.output_text!r}")
        events = list(oai.responses.create(model=model, input="Hi", stream=True))
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        check(events[-1].type == "response.completed" and text, f"{model}: responses stream {text!r}")


if __name__ == "__main__":
    main()
