"""Streams one chat completion with the official OpenAI Python SDK and prints what the client
saw as one JSON line: {"content": ..., "error": null} or {"content": ..., "error": "<message>"}.
Usage: sdk_stream.py BASE_URL MODEL (BASE_URL ends in /v1)."""

import json
import sys

import openai

base_url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key="sk-anything", max_retries=0, timeout=60)
content, error = "", None
try:
    stream = client.chat.completions.create(
        model=model, stream=True, messages=[{"role": "user", "content": "think long, then answer"}]
    )
    for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
except openai.APIError as e:
    error = str(e.message)
print(json.dumps({"content": content, "error": error}))
