"""The official OpenAI Python SDK's Responses API against Switchyard's /v1/responses: text, a
function-calling round trip (with previous_response_id, and stateless with the items sent
back), streams (create(stream=True) and the responses.stream() helper), JSON schema output,
retrieve and delete, errors; and, with SECOND_GATEWAY_BASE_URL, a conversation continued on
another instance.

Env: GATEWAY_BASE_URL (with /v1), GATEWAY_KEY, MODELS (comma-separated model groups),
STORED (the models whose responses the gateway keeps: bridged ones), SECOND_GATEWAY_BASE_URL.
"""
import json
import os
import sys

import openai

TOOLS = [{"type": "function", "name": "get_weather", "description": "Current weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
SCHEMA = {"type": "json_schema", "name": "city", "strict": True,
          "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                     "additionalProperties": False}}


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def exchange(client, model, stored):
    r = client.responses.create(model=model, instructions="Be brief.", input="Hello!")
    check(r.object == "response" and r.status == "completed", f"{model}: a completed response ({r.status})")
    check(r.output_text, f"{model}: text {r.output_text!r}")
    check(r.usage and r.usage.total_tokens > 0, f"{model}: usage {r.usage}")
    first = r

    ask = "What is the weather in Paris?"
    r = client.responses.create(model=model, input=ask, tools=TOOLS)
    calls = [i for i in r.output if i.type == "function_call"]
    check(calls and calls[0].name == "get_weather" and json.loads(calls[0].arguments) == {"city": "Paris"},
          f"{model}: a function call {calls}")
    call = calls[0]
    follow = client.responses.create(model=model, previous_response_id=r.id, tools=TOOLS,
                                     input=[{"type": "function_call_output", "call_id": call.call_id,
                                             "output": "18C and sunny"}])
    check(follow.output_text, f"{model}: the answer after the tool result, by previous_response_id")
    check(follow.previous_response_id == r.id, f"{model}: previous_response_id echoed")

    items = [{"role": "user", "content": ask}] + [i.model_dump(exclude_none=True) for i in r.output] + \
        [{"type": "function_call_output", "call_id": call.call_id, "output": "18C and sunny"}]
    again = client.responses.create(model=model, input=items, tools=TOOLS, store=False)
    check(again.output_text, f"{model}: the answer after the tool result, items sent back")

    events = list(client.responses.create(model=model, input="Hello!", stream=True))
    kinds = [e.type for e in events]
    check(kinds[0] == "response.created" and kinds[-1] == "response.completed", f"{model}: stream {kinds}")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    check(text, f"{model}: streamed text {text!r}")
    check([e.sequence_number for e in events] == sorted(e.sequence_number for e in events),
          f"{model}: sequence numbers in order")

    with client.responses.stream(model=model, input="Hello!") as s:
        for _ in s:
            pass
        final = s.get_final_response()
    check(final.output_text, f"{model}: the stream helper's final response {final.output_text!r}")

    r = client.responses.create(model=model, input="Name a city.", text={"format": SCHEMA})
    check(json.loads(r.output_text).get("city"), f"{model}: JSON schema output {r.output_text!r}")

    if stored:
        got = client.responses.retrieve(first.id)
        check(got.id == first.id and got.output_text == first.output_text, f"{model}: retrieve {got.id}")
        client.responses.delete(first.id)
        try:
            client.responses.retrieve(first.id)
            check(False, f"{model}: a deleted response is gone")
        except openai.NotFoundError:
            check(True, f"{model}: a deleted response is gone")


def main():
    key = os.environ["GATEWAY_KEY"]
    client = openai.OpenAI(base_url=os.environ["GATEWAY_BASE_URL"], api_key=key, max_retries=0)
    stored = set(os.environ.get("STORED", "").split(","))
    second = os.environ.get("SECOND_GATEWAY_BASE_URL")
    for model in os.environ["MODELS"].split(","):
        if second:
            other = openai.OpenAI(base_url=second, api_key=key, max_retries=0)
            r = client.responses.create(model=model, input="My name is Ada.")
            follow = other.responses.create(model=model, previous_response_id=r.id, input="What is my name?")
            check(follow.output_text, f"{model}: continued on another instance")
            check(other.responses.retrieve(r.id).id == r.id, f"{model}: retrieved on another instance")
            continue
        exchange(client, model, model in stored)
    if second:
        return
    try:
        client.responses.create(model="no-such-model", input="hi")
        check(False, "an unknown model is refused")
    except openai.BadRequestError as e:
        check(e.status_code == 400, f"an unknown model: {e}")
    try:
        client.responses.create(model=os.environ["MODELS"].split(",")[0], previous_response_id="resp_unknown",
                                input="hi")
        print("previous_response_id unknown: passed to the upstream")
    except openai.NotFoundError as e:
        check("resp_unknown" in str(e), f"an unknown previous_response_id: {e}")


if __name__ == "__main__":
    main()
