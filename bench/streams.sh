#!/usr/bin/env bash
# The stream-scale scenario (bench/run.sh runs it; it also runs alone): STREAMS concurrent slow
# streams (default 10,000; an upstream sending one chunk every STREAM_INTERVAL_MS for
# STREAM_SECONDS), held by one client (bench/streamload) through the nginx hop and through
# Switchyard in turn. Checks every stream complete and in order; measures each proxy's CPU
# seconds, and Switchyard's RSS idle, early (a quarter in), late (nine tenths in) and peak.
# Prints KEY=VALUE lines (to stdout) for run.sh's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
STREAMS="${STREAMS:-10000}"
STREAM_SECONDS="${STREAM_SECONDS:-60}"
STREAM_INTERVAL_MS="${STREAM_INTERVAL_MS:-100}"
CHUNKS=$((STREAM_SECONDS * 1000 / STREAM_INTERVAL_MS))
RAMP="${STREAM_RAMP:-2000}"
NGINX="$(command -v nginx)"
# Each stream holds a client and an upstream socket in the proxy: the proxy process needs two
# descriptors per stream. A machine whose hard limit is lower gets as many streams as fit, said.
STREAMS_ASKED=$STREAMS
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((STREAMS * 2 + 256)) ]; then
    STREAMS=$((($(ulimit -n) - 256) / 2))
    echo "bench/streams.sh: the hard limit on open files ($(ulimit -Hn)) allows $STREAMS streams, not $STREAMS_ASKED" >&2
fi
cargo build --release --quiet --bin switchyard -p switchyard -p streamload
BIN="$PWD/target/release/switchyard"
LOAD="$PWD/target/release/streamload"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ -f "$WORK/nginx.conf" ]; then "$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
    for _ in $(seq 1 100); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench/streams.sh: port $1 never opened" >&2; exit 1
}
# utime + stime of a process and its children that are still running (nginx's workers), in
# seconds.
cpu_s() {
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t/hz}'
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

UP_PORT=$(free_port); HOP_PORT=$(free_port); SY_PORT=$(free_port)
"$LOAD" upstream "$UP_PORT" "$CHUNKS" "$STREAM_INTERVAL_MS" &
PIDS+=("$!")
cat > "$WORK/nginx.conf" <<CONF
worker_processes 2;
worker_rlimit_nofile $(ulimit -n);
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
events { worker_connections $((STREAMS * 2 + 1024)); }
http {
    access_log off;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
    uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    upstream up { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server { listen 127.0.0.1:$HOP_PORT backlog=4096;
        location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                     proxy_buffering off; proxy_read_timeout 120s; } }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null
cat > "$WORK/config.yaml" <<CONF
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:$UP_PORT/v1
      api_key: sk-bench-not-a-real-key
CONF
"$BIN" --config "$WORK/config.yaml" --host 127.0.0.1 --port "$SY_PORT" --workers 2 > "$WORK/switchyard.log" 2>&1 &
SY_PID=$!; PIDS+=("$SY_PID")
wait_port "$UP_PORT"; wait_port "$HOP_PORT"; wait_port "$SY_PORT"
NGINX_PIDS=("$(cat "$WORK/nginx.pid")")
mapfile -t -O 1 NGINX_PIDS < <(ps -o pid= --ppid "${NGINX_PIDS[0]}" | tr -d ' ')
sleep 1
IDLE_KB=$(rss_kb "$SY_PID")
# nginx's own figures beside Switchyard's: its workers' RSS before and their peak after.
NGINX_IDLE_KB=0
for pid in "${NGINX_PIDS[@]:1}"; do NGINX_IDLE_KB=$((NGINX_IDLE_KB + $(rss_kb "$pid"))); done

run() { # name url pids...
    local name=$1 url=$2; shift 2
    local before after
    before=$(cpu_s "$@")
    "$LOAD" client "$url" "$STREAMS" "$CHUNKS" "$RAMP" > "$WORK/$name.json" 2> "$WORK/$name.err" &
    local client=$!
    if [ "$name" = switchyard ]; then
        sleep $((STREAM_SECONDS / 4 + STREAMS / RAMP)); EARLY_KB=$(rss_kb "$SY_PID")
        sleep $((STREAM_SECONDS * 9 / 10 - STREAM_SECONDS / 4)); LATE_KB=$(rss_kb "$SY_PID")
    fi
    wait "$client" || true
    after=$(cpu_s "$@")
    echo "streams.$name.cpu_s=$(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.2f", a-b}')"
    python3 - "$WORK/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = sys.argv[2]
for k in ("streams", "complete", "failed", "peak_open"):
    print(f"streams.{n}.{k}={r[k]}")
print(f"streams.{n}.first_chunk_p50_ms={r['first_chunk_ms']['p50']}")
print(f"streams.{n}.first_chunk_p99_ms={r['first_chunk_ms']['p99']}")
print(f"streams.{n}.stream_max_s={r['stream_s']['max']}")
print(f"streams.{n}.errors={json.dumps(r['errors'])}")
PY
}
run nginx "http://127.0.0.1:$HOP_PORT/v1/chat/completions" "${NGINX_PIDS[@]}"
NGINX_PEAK_KB=0
for pid in "${NGINX_PIDS[@]:1}"; do NGINX_PEAK_KB=$((NGINX_PEAK_KB + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status"))); done
run switchyard "http://127.0.0.1:$SY_PORT/v1/chat/completions" "$SY_PID"
echo "streams.count=$STREAMS"
echo "streams.asked=$STREAMS_ASKED"
echo "streams.fd_limit=$(ulimit -Hn)"
echo "streams.chunks=$CHUNKS"
echo "streams.interval_ms=$STREAM_INTERVAL_MS"
echo "streams.nginx.idle_kb=$NGINX_IDLE_KB"
echo "streams.nginx.peak_kb=$NGINX_PEAK_KB"
echo "streams.switchyard.idle_kb=$IDLE_KB"
echo "streams.switchyard.early_kb=$EARLY_KB"
echo "streams.switchyard.late_kb=$LATE_KB"
echo "streams.switchyard.peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SY_PID/status")"
