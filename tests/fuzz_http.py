#!/usr/bin/env python3
"""HTTP-level fuzz test against the release binary: thousands of generated malformed and extreme
requests (bad HTTP, wrong types, huge and non-finite numbers, extreme headers), sent to a gateway
whose upstream itself misbehaves (tool_calls that are not objects, Retry-After: 86400, keys
echoed in errors and in stream events, raw non-JSON lines, truncated streams). Afterwards the
process must still be alive, and every answer must have been JSON (or an SSE stream whose every
event is JSON or [DONE]) that never carries the upstream's key.

Usage: tests/fuzz_http.py path/to/switchyard [--requests N] [--seed S]
"""

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM_KEY = "sk-fuzz-upstream-secret-0123456789abcdef"
MASTER_KEY = "sk-master-fuzz-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_answer(tool_calls=None):
    msg = {"role": "assistant", "content": "hello there"}
    if tool_calls is not None:
        msg["tool_calls"] = tool_calls
        msg["content"] = None
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The gateway drops upstream connections it is done with (a stream that failed, a
        # client that left): a broken pipe here is expected, not a finding.
        pass


class Upstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible upstream that misbehaves at random."""
    protocol_version = "HTTP/1.1"
    rng = random.Random(7)
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def sse(self, events, cut=False):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for e in events:
            self.wfile.write(("data: " + e + "\n\n").encode())
            self.wfile.flush()
        if not cut:
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with Upstream.lock:
            pick = Upstream.rng.randrange(12)
        chunk = lambda delta, finish=None: json.dumps({
            "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        if body.get("stream"):
            if pick < 3:
                self.sse([chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop")])
            elif pick < 5:
                self.sse([chunk({"content": "x"}),
                          json.dumps({"error": {"message": f"bad key {UPSTREAM_KEY}", "code": 401}})])
            elif pick < 7:
                self.sse([chunk({"content": "x"}), f"not json {UPSTREAM_KEY}"])
            elif pick < 9:
                self.sse([chunk({"content": "x"})], cut=True)
            else:
                self.sse([chunk({"tool_calls": [1, "two", None]}), chunk({}, "tool_calls")])
            return
        if pick < 3:
            self.send(200, chat_answer())
        elif pick < 5:
            self.send(200, chat_answer(tool_calls=[1, "x", {"id": 3}]))
        elif pick < 6:
            self.send(429, {"error": {"message": "slow down"}}, headers=[("retry-after", "86400")])
        elif pick < 7:
            self.send(429, {"error": {"message": "slow"}}, headers=[("retry-after", "1e300")])
        elif pick < 9:
            self.send(500, {"error": {"message": f"Incorrect API key provided: {UPSTREAM_KEY}"}})
        elif pick < 10:
            self.send(200, b"{not json", "application/json")
        elif pick < 11:
            self.send(200, {"choices": "nope", "usage": {"prompt_tokens": 1e300}})
        else:
            self.send(200, chat_answer(tool_calls={"not": "a list"}))


EXTREMES = [1e300, -1e300, 1e19, -1, 0, 0.5, "inf", "NaN", "1e300", None, True, [], {}, "x" * 300,
            2 ** 63, -(2 ** 63), 86400.5, 31536001]
FIELDS = ["timeout", "request_timeout", "stream_timeout", "num_retries", "max_tokens", "temperature",
          "n", "stream", "messages", "model", "cache", "fallbacks", "tools", "tool_choice",
          "stream_options", "response_format", "stop", "input", "mock_response"]
HEADERS = ["x-litellm-timeout", "x-litellm-stream-timeout", "x-litellm-num-retries", "authorization",
           "x-api-key", "x-litellm-call-id", "content-type"]


def mutate(rng):
    body = {"model": rng.choice(["fuzz", "mock", "fuzz", "nope", 7]),
            "messages": [{"role": "user", "content": "hi"}]}
    if rng.random() < 0.5:
        body["stream"] = True
    for _ in range(rng.randrange(4)):
        field = rng.choice(FIELDS)
        value = rng.choice(EXTREMES)
        if field == "cache":
            value = {rng.choice(["ttl", "s-maxage", "namespace", "no-cache", "use-cache"]):
                     rng.choice(EXTREMES + ["a\nb", "ok"])}
        if field == "messages" and rng.random() < 0.5:
            value = [{"role": rng.choice(["user", 5, None]), "content": rng.choice(EXTREMES)}]
        body[field] = value
    return body


def headers_for(rng):
    h = {"authorization": f"Bearer {MASTER_KEY}", "content-type": "application/json"}
    for _ in range(rng.randrange(3)):
        name = rng.choice(HEADERS)
        h[name] = rng.choice(["inf", "-1", "1e300", "1000000", "", "Bearer ", "0", "3",
                              "x" * 200, MASTER_KEY, "nan", "\t"])
    return h


RAW = [
    b"GARBAGE\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /health/liveliness HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"\x00\x01\x02\xff\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\xff\xfe\xfd",
]


def check_body(status, ctype, data, where):
    """Returns a problem description, or None."""
    text = data.decode("utf-8", "replace")
    if UPSTREAM_KEY in text or UPSTREAM_KEY[8:30] in text:
        return f"{where}: the upstream key leaked: {text[:300]}"
    if ctype.startswith("text/event-stream"):
        for block in text.split("\n\n"):
            block = block.strip()
            if not block:
                continue
            if not block.startswith("data: "):
                return f"{where}: SSE block is not a data line: {block[:200]!r}"
            payload = block[len("data: "):]
            if payload == "[DONE]":
                continue
            try:
                json.loads(payload)
            except ValueError:
                return f"{where}: SSE event is not JSON: {payload[:200]!r}"
        return None
    try:
        v = json.loads(text)
    except ValueError:
        return f"{where}: status {status} body is not JSON: {text[:200]!r}"
    if status >= 400:
        err = v.get("error") if isinstance(v, dict) else None
        if not isinstance(err, dict) or not {"message", "type", "param", "code"} <= set(err):
            return f"{where}: status {status} is not an OpenAI error: {text[:200]!r}"
    return None


def raw_request(port, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
            data = b"".join(chunks)
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(rest) >= int(length[0].split(b":")[1]):
                    break
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        return None
    status = int(head.split(b" ")[1])
    ctype = ""
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-type:"):
            ctype = line.split(b":", 1)[1].strip().decode()
    return status, ctype, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "1")))
    args = ap.parse_args()

    up_port = free_port()
    upstream = QuietServer(("127.0.0.1", up_port), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()

    port = free_port()
    tmp = tempfile.mkdtemp(prefix="switchyard-fuzz-")
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as f:
        f.write(f"""model_list:
  - model_name: fuzz
    litellm_params:
      model: openai/up
      api_key: {UPSTREAM_KEY}
      api_base: http://user:{UPSTREAM_KEY}@127.0.0.1:{up_port}/v1
      timeout: 20
  - model_name: fuzz
    litellm_params:
      model: openai/up2
      api_key: {UPSTREAM_KEY}
      api_base: http://127.0.0.1:{up_port}/v1
      timeout: 20
  - model_name: mock
    litellm_params:
      model: openai/mock
      mock_response: "a mocked answer"
router_settings:
  num_retries: 1
litellm_settings:
  cache: true
  cache_params: {{type: local}}
general_settings:
  master_key: {MASTER_KEY}
switchyard_settings:
  max_retry_after_seconds: 2
  client_header_timeout_seconds: 2
  client_body_timeout_seconds: 2
""")
    log = open(os.path.join(tmp, "gateway.log"), "w")
    gw = subprocess.Popen([args.binary, "--config", cfg, "--port", str(port), "--host", "127.0.0.1",
                           "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
    problems = []
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        rng = random.Random(args.seed)
        plans = []
        for i in range(args.requests):
            r = rng.random()
            if r < 0.1:
                plans.append(("raw", rng.choice(RAW)))
            elif r < 0.15:
                plans.append(("bytes", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))))
            else:
                path = rng.choice(["/v1/chat/completions"] * 6 + ["/v1/embeddings", "/chat/completions",
                                                                   "/v1/nothing"])
                plans.append(("json", path, mutate(rng), headers_for(rng)))
        lock = threading.Lock()
        answered = [0]
        statuses = {}

        def worker(items):
            conn = None
            for n, plan in items:
                where = f"request {n} ({plan[0]})"
                try:
                    if plan[0] == "raw":
                        got = raw_request(port, plan[1])
                        if got is None:
                            with lock:
                                problems.append(f"{where}: no answer at all to {plan[1][:60]!r}")
                            continue
                        status, ctype, body = got
                    else:
                        if conn is None:
                            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        if plan[0] == "bytes":
                            path, body_bytes, headers = "/v1/chat/completions", plan[1], {
                                "authorization": f"Bearer {MASTER_KEY}"}
                        else:
                            path, body, headers = plan[1], plan[2], plan[3]
                            body_bytes = json.dumps(body, allow_nan=True).encode()
                        try:
                            conn.request("POST", path, body=body_bytes, headers=headers)
                            resp = conn.getresponse()
                        except http.client.HTTPException:
                            conn.close()
                            conn = None
                            continue
                        status, ctype, body = resp.status, resp.getheader("content-type", ""), resp.read()
                        if resp.getheader("connection", "").lower() == "close":
                            conn.close()
                            conn = None
                    problem = check_body(status, ctype, body, where)
                    kind = f"{status} sse" if ctype.startswith("text/event-stream") else str(status)
                    with lock:
                        answered[0] += 1
                        statuses[kind] = statuses.get(kind, 0) + 1
                        if problem:
                            problems.append(problem)
                except (ConnectionError, socket.timeout, OSError) as e:
                    with lock:
                        problems.append(f"{where}: {type(e).__name__}: {e}")
                    conn = None

        numbered = list(enumerate(plans))
        threads = [threading.Thread(target=worker, args=(numbered[i::8],)) for i in range(8)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        alive = gw.poll() is None
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/health/liveliness")
        live = conn.getresponse().status if alive else None
        log.flush()
        with open(os.path.join(tmp, "gateway.log")) as f:
            logs = f.read()
        if UPSTREAM_KEY in logs:
            problems.append("the upstream key appears in the gateway's log")
        if "panicked" in logs:
            problems.append("a panic was logged: " + logs[logs.index("panicked") - 200:][:600])
        print(f"fuzz_http: {len(plans)} requests, {answered[0]} answered, in {time.time() - started:.1f}s; "
              f"process alive: {alive}; liveliness: {live}; problems: {len(problems)}")
        print("fuzz_http: answers by status:", ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
        for p in problems[:20]:
            print("  -", p)
        ok = alive and live == 200 and not problems
        return 0 if ok else 1
    finally:
        gw.terminate()
        try:
            gw.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gw.kill()
        upstream.shutdown()


if __name__ == "__main__":
    sys.exit(main())
