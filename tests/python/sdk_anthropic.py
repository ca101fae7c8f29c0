"""The official Anthropic Python SDK against Switchyard's /v1/messages: text, a tool-use round
trip, streams through the SDK's stream helpers (text and tool use), and an error.

Env: GATEWAY_URL (no /v1), GATEWAY_KEY, MODELS (comma-separated model groups).
"""
import os
import sys

import anthropic

# A 1x1 red PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"

TOOLS = [{"name": "get_weather", "description": "Current weather for a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def exchange(client, model):
    msg = client.messages.create(model=model, max_tokens=64, system="Be brief.",
                                 messages=[{"role": "user", "content": "Hello!"}])
    check(msg.type == "message" and msg.role == "assistant", f"{model}: a message")
    check(msg.content[0].type == "text" and msg.content[0].text, f"{model}: text {msg.content[0].text!r}")
    check(msg.stop_reason == "end_turn", f"{model}: stop_reason {msg.stop_reason}")
    check(msg.usage.output_tokens > 0, f"{model}: usage {msg.usage}")
    check(msg.id.startswith("msg_"), f"{model}: id {msg.id}")

    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    msg = client.messages.create(model=model, max_tokens=64, tools=TOOLS, messages=ask)
    check(msg.stop_reason == "tool_use", f"{model}: stop_reason tool_use ({msg.stop_reason})")
    call = next(b for b in msg.content if b.type == "tool_use")
    check(call.name == "get_weather" and call.input == {"city": "Paris"}, f"{model}: tool_use {call.input}")
    follow = ask + [{"role": "assistant", "content": [b.model_dump() for b in msg.content]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18C and sunny"}]}]
    final = client.messages.create(model=model, max_tokens=64, tools=TOOLS, messages=follow)
    check(final.content and final.content[0].type == "text", f"{model}: answer after the tool result")

    with client.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "Hello!"}]) as s:
        text = "".join(s.text_stream)
        done = s.get_final_message()
    check(text and done.stop_reason == "end_turn", f"{model}: streamed {text!r}, {done.stop_reason}")
    check(done.usage.output_tokens > 0, f"{model}: streamed usage {done.usage}")

    with client.messages.stream(model=model, max_tokens=64, tools=TOOLS, messages=ask) as s:
        done = s.get_final_message()
    call = next(b for b in done.content if b.type == "tool_use")
    check(done.stop_reason == "tool_use" and call.input == {"city": "Paris"}, f"{model}: streamed tool_use {call.input}")

    # An image, a cached system block and metadata: kept as they are for an Anthropic
    # deployment, translated for the others (the test checks what each upstream received).
    extra = {"thinking": {"type": "enabled", "budget_tokens": 1024}} if model in os.environ.get("NATIVE", "").split(",") else {}
    msg = client.messages.create(
        model=model, max_tokens=2048, metadata={"user_id": "u-42"},
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}],
        **extra)
    check(msg.content[0].type == "text" and msg.content[0].text, f"{model}: an answer about an image")

    counted = client.messages.count_tokens(model=model, system="Be brief.", tools=TOOLS,
                                           messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    check(counted.input_tokens > 0, f"{model}: count_tokens {counted.input_tokens}")
    print(f"count_tokens {model} {counted.input_tokens}")


def main():
    client = anthropic.Anthropic(base_url=os.environ["GATEWAY_URL"], api_key=os.environ["GATEWAY_KEY"], max_retries=0)
    for model in os.environ["MODELS"].split(","):
        exchange(client, model)
    try:
        client.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        check(False, "an unknown model is refused")
    except anthropic.BadRequestError as e:
        check(e.body["error"]["type"] == "invalid_request_error", f"an unknown model: {e.body}")


if __name__ == "__main__":
    main()
