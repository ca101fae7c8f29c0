"""The OpenAI Python SDK against Anthropic, Gemini and Azure deployments behind the gateway:
for each, one streamed exchange and one tool-call exchange (the tool result sent back).

Env: GATEWAY_BASE_URL, GATEWAY_KEY, MODELS (comma-separated model names to check),
TOOL_MODELS (those of MODELS whose provider has tools; default: all of them).
"""
import json
import os
import sys

import openai

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def streamed(client, model):
    text, finish, ids, usage = "", None, set(), None
    for chunk in client.chat.completions.create(
            model=model, stream=True, stream_options={"include_usage": True},
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]):
        ids.add(chunk.id)
        check(chunk.model == model, f"{model}: chunk names the requested model")
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    check(text and finish == "stop", f"{model}: streamed {text!r}, finish {finish}")
    check(len(ids) == 1, f"{model}: one id per stream ({ids})")
    check(usage is not None and usage.total_tokens > 0, f"{model}: usage in the last chunk")


def tool_exchange(client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    resp = client.chat.completions.create(model=model, messages=messages, tools=TOOLS, tool_choice="auto")
    choice = resp.choices[0]
    check(choice.finish_reason == "tool_calls", f"{model}: finish_reason tool_calls")
    call = choice.message.tool_calls[0]
    check(call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"},
          f"{model}: tool call {call.function.name}({call.function.arguments})")
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"}]
    final = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    check(final.choices[0].message.content, f"{model}: answer after the tool result")

    args, name = "", None
    for chunk in client.chat.completions.create(model=model, messages=messages[:1], tools=TOOLS, stream=True):
        for c in chunk.choices:
            for tc in c.delta.tool_calls or []:
                name = tc.function.name or name
                args += tc.function.arguments or ""
    check(name == "get_weather" and json.loads(args) == {"city": "Paris"}, f"{model}: streamed tool call {args}")


def main():
    client = openai.OpenAI(base_url=os.environ["GATEWAY_BASE_URL"], api_key=os.environ["GATEWAY_KEY"], max_retries=0)
    models = os.environ["MODELS"].split(",")
    with_tools = os.environ.get("TOOL_MODELS", os.environ["MODELS"]).split(",")
    for model in models:
        streamed(client, model)
        if model in with_tools:
            tool_exchange(client, model)


if __name__ == "__main__":
    main()
