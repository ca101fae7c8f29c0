#!/usr/bin/env bash
# The large-group and large-config scenarios (bench/run.sh runs it; it also runs alone): one
# gateway with a one-deployment group and a group of 1,000 deployments, one with 10,000 model
# groups; each load timed until /health/readiness answers; throughput (wrk, CONCURRENCY,
# DURATION s per cell) to the one-deployment group, the 1,000-deployment group, and a random
# group of the 10,000 each request. Prints KEY=VALUE lines for run.sh's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONCURRENCY="${CONCURRENCY:-1 16 64}"
GROUP_SIZE="${GROUP_SIZE:-1000}"
MANY_GROUPS="${MANY_GROUPS:-10000}"
NGINX="$(command -v nginx)"
cargo build --release --quiet --bin switchyard
BIN="$PWD/target/release/switchyard"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -f "$WORK/nginx.conf" ]; then "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UP_PORT=$(free_port); A_PORT=$(free_port); B_PORT=$(free_port)
BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'
cat > "$WORK/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
events { worker_connections 4096; }
http {
    access_log off; keepalive_requests 1000000;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
    uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    server { listen 127.0.0.1:$UP_PORT; location / { default_type application/json; return 200 '$BODY'; } }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null
python3 - "$WORK" "$UP_PORT" "$GROUP_SIZE" "$MANY_GROUPS" <<'PY'
import sys
work, port, size, many = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def entry(name, i):
    # Distinct ids: each entry is its own deployment with its own gate and actor.
    return (f"  - model_name: {name}\n    litellm_params:\n      model: openai/gpt-4o\n"
            f"      api_base: http://127.0.0.1:{port}/v1\n      api_key: sk-bench-{i:05d}\n"
            f"    model_info:\n      id: {name}-{i:05d}\n")
with open(f"{work}/big.yaml", "w") as f:
    f.write("model_list:\n" + entry("one", 0) + "".join(entry("big", i) for i in range(size)))
with open(f"{work}/many.yaml", "w") as f:
    f.write("model_list:\n" + "".join(entry(f"group-{i:05d}", i) for i in range(many)))
PY
read -r A_PID A_LOAD < <(python3 bench/startup.py "$A_PORT" "$WORK/a.log" "$BIN" --config "$WORK/big.yaml" --host 127.0.0.1 --port "$A_PORT" --workers 2)
PIDS+=("$A_PID")
read -r B_PID B_LOAD < <(python3 bench/startup.py "$B_PORT" "$WORK/b.log" "$BIN" --config "$WORK/many.yaml" --host 127.0.0.1 --port "$B_PORT" --workers 2)
PIDS+=("$B_PID")
echo "groups.size=$GROUP_SIZE"
echo "groups.many=$MANY_GROUPS"
echo "groups.big.load_s=$A_LOAD"
echo "groups.many.load_s=$B_LOAD"

script() { # model | "random"
    if [ "$1" = random ]; then
        cat <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-client"
request = function()
    local body = string.format('{"model":"group-%05d","messages":[{"role":"user","content":"Hello!"}]}', math.random(0, $MANY_GROUPS - 1))
    return wrk.format(nil, nil, nil, body)
end
LUA
    else
        printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer sk-client"\nwrk.body = %s\n' \
            "'{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'"
    fi
}
script one > "$WORK/one.lua"; script big > "$WORK/big.lua"; script random > "$WORK/many.lua"
declare -A URL=([one]="http://127.0.0.1:$A_PORT/v1/chat/completions" [big]="http://127.0.0.1:$A_PORT/v1/chat/completions" [many]="http://127.0.0.1:$B_PORT/v1/chat/completions")
for t in one big many; do wrk -t1 -c8 -d2s -s "$WORK/$t.lua" "${URL[$t]}" >/dev/null; done
for c in $CONCURRENCY; do
    threads=2; [ "$c" -lt 2 ] && threads=1
    for t in one big many; do
        out=$(wrk -t"$threads" -c"$c" -d"${DURATION}s" -s "$WORK/$t.lua" "${URL[$t]}")
        if echo "$out" | grep -q "Non-2xx"; then echo "bench/groups.sh: $t answered errors:" >&2; echo "$out" >&2; exit 1; fi
        echo "groups.$t.rps.$c=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')"
    done
done
echo "groups.big.rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$A_PID/status")"
echo "groups.many.rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$B_PID/status")"
