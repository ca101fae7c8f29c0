"""Time to the first streamed chunk and to the last: direct, through the nginx hop and through
Switchyard (medians of SAMPLES requests each, interleaved). Prints KEY=VALUE lines for run.sh.
Usage: first_chunk.py DIRECT_URL HOP_URL SWITCHYARD_URL [SAMPLES]"""
import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlparse


def measure(url):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = json.dumps({"model": "gpt-4o-stream", "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]})
    start = time.perf_counter()
    conn.request("POST", u.path, body, {"content-type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        sys.exit(f"first_chunk.py: {url} answered {resp.status}")
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
    names = ("direct", "nginx", "switchyard")
    urls = sys.argv[1:4]
    samples = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    runs = {n: [] for n in names}
    for _ in range(samples):
        for name, url in zip(names, urls):
            runs[name].append(measure(url))
    for name in names:
        first = statistics.median(s[0] for s in runs[name]) * 1000
        last = statistics.median(s[1] for s in runs[name]) * 1000
        print(f"stream.{name}.first_ms={first:.3f}")
        print(f"stream.{name}.last_ms={last:.3f}")


if __name__ == "__main__":
    main()
