#!/usr/bin/env python3
"""Soak: the release gateway under mixed traffic for SOAK_SECONDS (default 600) with the Redis
cache on: streams (cached and not), plain chat misses and hits, embeddings batches, and a slice
of bad requests. Samples the gateway's RSS and open file descriptors every 5 s. Passes when no
valid request failed, and RSS and descriptors stay flat (last minute vs the minute after warm-up).

Usage: bench/soak.py path/to/switchyard   (bench/soak.sh builds and runs it)
"""

import asyncio
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "16"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def upstream(reader, writer):
    """OpenAI-compatible: chat (SSE when asked: 8 chunks, 20 ms apart) and embeddings."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(await reader.readexactly(length) or b"{}")
            if b"/embeddings" in head.split(b"\r\n")[0]:
                items = body["input"] if isinstance(body["input"], list) else [body["input"]]
                out = json.dumps({"object": "list", "model": "e", "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(items))],
                    "usage": {"prompt_tokens": len(items), "total_tokens": len(items)}}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                             % (len(out), out))
                await writer.drain()
                continue
            if body.get("stream"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
                for i in range(8):
                    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                             "choices": [{"index": 0, "delta": {"content": f"w{i} "},
                                          "finish_reason": "stop" if i == 7 else None}]}
                    data = f"data: {json.dumps(chunk)}\n\n".encode()
                    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                    await writer.drain()
                    await asyncio.sleep(0.02)
                usage = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}}
                tail = f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode()
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail))
                await writer.drain()
                continue
            out = json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello " * 20},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25}}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                         % (len(out), out))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def run_upstream(port):
    async def main():
        server = await asyncio.start_server(upstream, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


def client(port, stop, stats, lock, seed):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = 0
    while not stop.is_set():
        n += 1
        r = rng.random()
        expect_ok = True
        if r < 0.35:
            body = {"model": "chat", "stream": True, "messages": [{"role": "user", "content": f"s {rng.randrange(50)}"}]}
        elif r < 0.6:
            body = {"model": "chat", "messages": [{"role": "user", "content": f"miss {seed} {n}"}]}
        elif r < 0.85:
            body = {"model": "chat", "messages": [{"role": "user", "content": f"hit {rng.randrange(20)}"}]}
        elif r < 0.95:
            body = {"model": "embed", "input": [f"item {rng.randrange(500)}" for _ in range(rng.randrange(1, 32))]}
        else:
            body = {"model": "chat", "timeout": 1e300, "messages": [{"role": "user", "content": "bad"}]}
            expect_ok = False
        path = "/v1/embeddings" if body["model"] == "embed" else "/v1/chat/completions"
        try:
            conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            good = (resp.status == 200) == expect_ok and (not body.get("stream") or data.rstrip().endswith(b"[DONE]"))
        except (OSError, http.client.HTTPException):
            good = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            stats["requests"] += 1
            if not good:
                stats["failed"] += 1


def main():
    binary = sys.argv[1]
    redis = shutil.which("redis-server")
    if not redis:
        print("soak: redis-server is required", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="switchyard-soak-")
    up_port, redis_port, port = free_port(), free_port(), free_port()
    threading.Thread(target=run_upstream, args=(up_port,), daemon=True).start()
    redis_proc = subprocess.Popen([redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as f:
        f.write(f"""model_list:
  - model_name: chat
    litellm_params: {{model: openai/m, api_base: "http://127.0.0.1:{up_port}/v1", api_key: sk-soak-0123456789}}
  - model_name: embed
    litellm_params: {{model: openai/text-embedding-3-small, api_base: "http://127.0.0.1:{up_port}/v1", api_key: sk-soak-0123456789}}
litellm_settings:
  cache: true
  cache_params: {{type: redis, host: 127.0.0.1, port: {redis_port}, ttl: 30}}
""")
    log = open(os.path.join(tmp, "gateway.log"), "w")
    gw = subprocess.Popen([binary, "--config", cfg, "--port", str(port), "--host", "127.0.0.1", "--workers", "2"],
                          stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        stop, lock = threading.Event(), threading.Lock()
        stats = {"requests": 0, "failed": 0}
        threads = [threading.Thread(target=client, args=(port, stop, stats, lock, i)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        samples = []
        started = time.time()
        idle_rss, _ = sample(gw.pid)
        while time.time() - started < SECONDS and gw.poll() is None:
            time.sleep(5)
            rss, fds = sample(gw.pid)
            samples.append((time.time() - started, rss, fds))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        alive = gw.poll() is None
        warm = [s for s in samples if 60 <= s[0] < 120] or samples[: max(1, len(samples) // 5)]
        last = [s for s in samples if s[0] >= SECONDS - 60] or samples[-max(1, len(samples) // 5):]
        rss_warm = statistics.median(s[1] for s in warm)
        rss_last = statistics.median(s[1] for s in last)
        fds_warm = max(s[2] for s in warm)
        fds_last = max(s[2] for s in last)
        peak = max(s[1] for s in samples)
        growth = rss_last / rss_warm
        print(f"soak: {SECONDS}s, {CLIENTS} clients, {stats['requests']} requests "
              f"({stats['requests'] / SECONDS:.0f}/s), {stats['failed']} failed; alive: {alive}")
        print(f"soak: RSS idle {idle_rss / 1024:.1f} MB, after warm-up {rss_warm / 1024:.1f} MB, "
              f"last minute {rss_last / 1024:.1f} MB ({growth:.3f}x), peak {peak / 1024:.1f} MB")
        print(f"soak: open fds after warm-up {fds_warm}, last minute {fds_last}")
        ok = alive and stats["failed"] == 0 and growth <= 1.10 and fds_last <= fds_warm + 8
        print("soak: PASS" if ok else "soak: FAIL")
        return 0 if ok else 1
    finally:
        gw.terminate()
        redis_proc.terminate()
        try:
            gw.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gw.kill()
        redis_proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
