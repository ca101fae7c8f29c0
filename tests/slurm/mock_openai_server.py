"""A small OpenAI-compatible server standing in for vLLM in the SLURM backend test: GET
/v1/models, POST /v1/chat/completions (answers "from backend NAME"). Every chat request is
appended to LOG as one line. Stops on SIGTERM like vLLM does.
Usage: mock_openai_server.py --port N --name NAME --log FILE [--model MODEL]"""

import argparse
import http.server
import json
import signal
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--name", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--model", default="Qwen/Qwen3-0.6B")
args = parser.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/models":
            self.answer(200, {"object": "list", "data": [{"id": args.model, "object": "model", "owned_by": "vllm"}]})
        else:
            self.answer(404, {"detail": "Not Found"})

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self.answer(404, {"detail": "Not Found"})
            return
        with open(args.log, "a") as log:
            log.write(f"{args.name} {request.get('model')}\n")
        self.answer(200, {
            "id": "chatcmpl-mock", "object": "chat.completion", "created": int(time.time()),
            "model": request.get("model", args.model),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"from backend {args.name}"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        })

    def log_message(self, *a):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
http.server.ThreadingHTTPServer(("0.0.0.0", args.port), Handler).serve_forever()
