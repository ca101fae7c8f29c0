"""The OpenAI Python SDK: embeddings from each provider that has them, and a chat whose provider
fails over to other providers (the client sees one ordinary answer).

Env: GATEWAY_BASE_URL, GATEWAY_KEY, EMBED_MODELS (comma-separated), FALLBACK_MODEL,
FALLBACK_ANSWER (the text the last provider in the chain answers).
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
    for model in os.environ["EMBED_MODELS"].split(","):
        resp = client.embeddings.create(model=model, input=["abc", "de"])
        check(len(resp.data) == 2 and [d.index for d in resp.data] == [0, 1], f"{model}: two embeddings in order")
        check(resp.data[1].embedding[0] == 2.0, f"{model}: the second vector is the second item's ({resp.data[1].embedding[:2]})")
        check(resp.model == model, f"{model}: answer names the requested model")
    model = os.environ["FALLBACK_MODEL"]
    chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}])
    check(chat.choices[0].message.content == os.environ["FALLBACK_ANSWER"],
          f"{model}: answered by the last provider in the chain ({chat.choices[0].message.content!r})")


if __name__ == "__main__":
    main()
