#!/usr/bin/env bash
# Switchyard benchmark, one command: bench/run.sh (issue 14's targets, PASS or MISS each).
# Measures, in one run on this machine: direct to a zero-latency upstream (nginx answering a
# fixed chat.completion), through an nginx proxy_pass hop (the floor for any proxy hop), and
# through Switchyard (OpenAI passthrough, /v1/messages bridged to it; Anthropic, Gemini, Ollama
# and Bedrock translations, the last SigV4-signed; Redis and local cache hits);
# RPS and p50/p99 at concurrency 1, 16, 64 (wrk), Switchyard's idle and peak RSS, time to the
# first streamed chunk (direct, hop, Switchyard); then bench/streams.sh (10,000 slow streams)
# and bench/groups.sh (a group of 1,000 deployments, a config of 10,000 groups).
# bench/summary.py writes bench/results.md: the machine, every figure, each target's ratio.
# Env: DURATION (seconds per cell, default 10), CONCURRENCY (default "1 16 64"),
# SCENARIOS (default "http streams groups"), STREAMS / STREAM_SECONDS (bench/streams.sh),
# BASELINE (another switchyard binary, e.g. an older build: measured in the same run on the
# same config, with "after vs before" ratios for the passthrough and the translation).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
CONCURRENCY="${CONCURRENCY:-1 16 64}"
SCENARIOS="${SCENARIOS:-http streams groups}"
export DURATION CONCURRENCY
# bench/results.md keeps the latest full run: a partial one is written beside it, said.
RESULTS=bench/results.md
if [ "$SCENARIOS" != "http streams groups" ]; then
    RESULTS="$(mktemp --suffix=.md)"
    echo "bench: a partial run (SCENARIOS=$SCENARIOS) writes $RESULTS, not bench/results.md" >&2
fi
for tool in nginx wrk python3 curl redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required (apt-get install nginx wrk curl redis-server)" >&2; exit 1; }
done
NGINX="$(command -v nginx)"

cargo build --release --quiet --bin switchyard -p switchyard -p streamload
BIN="$PWD/target/release/switchyard"
FIGURES="$(mktemp)"
{
    echo "machine.cores=$(nproc)"
    echo "machine.cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "machine.kernel=$(uname -r)"
    echo "machine.nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
    echo "machine.date=$(date -u +%Y-%m-%d)"
    echo "run.duration=$DURATION"
    echo "run.concurrency=$CONCURRENCY"
} > "$FIGURES"
if [[ " $SCENARIOS " != *" http "* ]]; then
    for scenario in streams groups; do
        if [[ " $SCENARIOS " == *" $scenario "* ]]; then bash "bench/$scenario.sh" >> "$FIGURES"; fi
    done
    python3 bench/summary.py "$FIGURES" | tee "$RESULTS"
    rm -f "$FIGURES"
    exit 0
fi
WORK="$(mktemp -d)"
PIDS=()
stop_processes() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for conf in "$WORK"/nginx-*.conf; do
        if [ -f "$conf" ]; then "$NGINX" -c "$conf" -p "$WORK" -s stop 2>/dev/null || true; fi
    done
    PIDS=()
}
cleanup() {
    stop_processes
    rm -rf "$WORK"
    rm -f "$FIGURES"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done
    echo "bench: port $1 never answered; logs:" >&2
    tail -n 5 "$WORK"/*.log >&2 || true
    exit 1
}

UP_PORT=$(free_port); HOP_PORT=$(free_port); SY_PORT=$(free_port); STREAM_PORT=$(free_port)
BASE_PORT=$(free_port)
REDIS_PORT=$(free_port); SY_REDIS_PORT=$(free_port); SY_LOCAL_PORT=$(free_port)
SY_METRICS_PORT=$(free_port); HOP_STREAM_PORT=$(free_port)
BODY='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'

nginx_conf() { # name, server block
    cat > "$WORK/nginx-$1.conf" <<CONF
worker_processes auto;
pid $WORK/nginx-$1.pid;
error_log $WORK/nginx-$1.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body-$1;
    proxy_temp_path $WORK/proxy-$1;
    fastcgi_temp_path $WORK/fcgi-$1;
    uwsgi_temp_path $WORK/uwsgi-$1;
    scgi_temp_path $WORK/scgi-$1;
    keepalive_requests 1000000;
    $2
}
CONF
    "$NGINX" -c "$WORK/nginx-$1.conf" -p "$WORK" 2>/dev/null
}
# The same answer in Anthropic's Messages format, for the translation row.
# The same answer as Ollama's /api/chat and Bedrock's Converse answer it.
GEMINI_BODY='{"candidates":[{"content":{"parts":[{"text":"Hello! How can I help you today?"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":9,"totalTokenCount":18},"modelVersion":"gemini-1.5-pro"}'
OLLAMA_BODY='{"model":"llama3.1","created_at":"2026-12-02T08:00:00Z","message":{"role":"assistant","content":"Hello! How can I help you today?"},"done":true,"done_reason":"stop","total_duration":1000,"prompt_eval_count":9,"eval_count":9}'
BEDROCK_BODY='{"output":{"message":{"role":"assistant","content":[{"text":"Hello! How can I help you today?"}]}},"stopReason":"end_turn","usage":{"inputTokens":9,"outputTokens":9,"totalTokens":18},"metrics":{"latencyMs":1}}'
ANTHROPIC_BODY='{"id":"msg_bench","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":9}}'
nginx_conf upstream "server { listen 127.0.0.1:$UP_PORT;
        location / { default_type application/json; return 200 '$BODY'; }
        location = /v1/messages { default_type application/json; return 200 '$ANTHROPIC_BODY'; }
        location = /api/chat { default_type application/json; return 200 '$OLLAMA_BODY'; }
        location ~ ^/v1beta/models/.+:generateContent\$ { default_type application/json; return 200 '$GEMINI_BODY'; }
        location ~ ^/model/.+/converse\$ { default_type application/json; return 200 '$BEDROCK_BODY'; } }"
nginx_conf hop "upstream up { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server { listen 127.0.0.1:$HOP_PORT; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }
    server { listen 127.0.0.1:$HOP_STREAM_PORT; location / { proxy_pass http://127.0.0.1:$STREAM_PORT; proxy_http_version 1.1; proxy_buffering off; } }"

cat > "$WORK/config.yaml" <<CONF
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:$UP_PORT/v1
      api_key: sk-bench-not-a-real-key
  - model_name: gpt-4o-stream
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:$STREAM_PORT/v1
      api_key: sk-bench-not-a-real-key
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: http://127.0.0.1:$UP_PORT
      api_key: sk-bench-not-a-real-key
CONF
# An older build (BASELINE) may not know the newer providers: it gets the part it knows.
cp "$WORK/config.yaml" "$WORK/config-baseline.yaml"
cat >> "$WORK/config.yaml" <<CONF
  - model_name: gemini
    litellm_params:
      model: gemini/gemini-1.5-pro
      api_base: http://127.0.0.1:$UP_PORT/v1beta
      api_key: bench-not-a-real-key
  - model_name: llama
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: http://127.0.0.1:$UP_PORT
  - model_name: claude-bedrock
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      api_base: http://127.0.0.1:$UP_PORT
      aws_access_key_id: AKIABENCHNOTAREALKEY
      aws_secret_access_key: bench-not-a-real-secret-0123456789
      aws_region_name: us-east-1
CONF
"$BIN" --config "$WORK/config.yaml" --host 127.0.0.1 --port "$SY_PORT" --workers 2 > "$WORK/switchyard.log" 2>&1 &
SY_PID=$!; PIDS+=("$SY_PID")
if [ -n "${BASELINE:-}" ]; then
    [ -x "$BASELINE" ] || { echo "bench: BASELINE=$BASELINE is not an executable" >&2; exit 1; }
    "$BASELINE" --config "$WORK/config-baseline.yaml" --host 127.0.0.1 --port "$BASE_PORT" --workers 2 > "$WORK/baseline.log" 2>&1 &
    PIDS+=("$!")
fi

# The same gateway with the response cache on: every measured request is a hit.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no > "$WORK/redis.log" 2>&1 &
PIDS+=("$!")
cache_config() { # cache_params lines
    sed -n '1,/gpt-4o-stream/p' "$WORK/config.yaml" | sed '$d'
    printf 'litellm_settings:\n  cache: true\n  cache_params:\n%s\n' "$1"
}
cache_config "    type: redis
    host: 127.0.0.1
    port: $REDIS_PORT
    ttl: 3600" > "$WORK/config-redis.yaml"
cache_config "    type: local
    ttl: 3600" > "$WORK/config-local.yaml"
for variant in redis local; do
    port_var="SY_${variant^^}_PORT"
    "$BIN" --config "$WORK/config-$variant.yaml" --host 127.0.0.1 --port "${!port_var}" --workers 2 > "$WORK/switchyard-$variant.log" 2>&1 &
    PIDS+=("$!")
done
# The same gateway without recording metrics (they are on by default, for /metrics and /ui).
cat "$WORK/config.yaml" > "$WORK/config-metrics.yaml"
printf 'switchyard_settings:\n  metrics: false\n' >> "$WORK/config-metrics.yaml"
"$BIN" --config "$WORK/config-metrics.yaml" --host 127.0.0.1 --port "$SY_METRICS_PORT" --workers 2 > "$WORK/switchyard-metrics.log" 2>&1 &
PIDS+=("$!")
target/release/streamload upstream "$STREAM_PORT" 5 100 > "$WORK/stream.log" 2>&1 &
PIDS+=("$!")
wait_port "$UP_PORT"; wait_port "$HOP_PORT"; wait_port "$SY_PORT"
sleep 1
IDLE_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SY_PID/status")
wait_port "$SY_REDIS_PORT"; wait_port "$SY_LOCAL_PORT"; wait_port "$SY_METRICS_PORT"
redis-cli -p "$REDIS_PORT" ping >/dev/null

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-client"
wrk.body = '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}'
LUA
sed 's/"model":"gpt-4o"/"model":"claude"/' "$WORK/post.lua" > "$WORK/post-anthropic.lua"
sed 's/"model":"gpt-4o"/"model":"llama"/' "$WORK/post.lua" > "$WORK/post-ollama.lua"
sed 's/"model":"gpt-4o"/"model":"gemini"/' "$WORK/post.lua" > "$WORK/post-gemini.lua"
sed 's/"model":"gpt-4o"/"model":"claude-bedrock"/' "$WORK/post.lua" > "$WORK/post-bedrock.lua"
# Anthropic's Messages API in (what Claude Code sends), bridged to the OpenAI-compatible upstream.
cat > "$WORK/post-messages.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "sk-client"
wrk.body = '{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"Hello!"}]}'
LUA

# wrk's latency lines look like "50%  123.00us"; print milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
    if (u=="us") n/=1000; else if (u=="s") n*=1000; else if (u=="m") n*=60000; printf "%.3f", n }'; }

declare -A RPS P50 P99
script_for() {
    case "$1" in
        *anthropic) echo "$WORK/post-anthropic.lua" ;;
        *ollama) echo "$WORK/post-ollama.lua" ;;
        gemini) echo "$WORK/post-gemini.lua" ;;
        *bedrock) echo "$WORK/post-bedrock.lua" ;;
        messages) echo "$WORK/post-messages.lua" ;;
        *) echo "$WORK/post.lua" ;;
    esac
}
run_cell() { # target-name url concurrency
    local threads=2; [ "$3" -lt 2 ] && threads=1
    local out; out=$(wrk -t"$threads" -c"$3" -d"${DURATION}s" --latency -s "$(script_for "$1")" "$2")
    if echo "$out" | grep -q "Non-2xx"; then echo "bench: $1 answered errors:"; echo "$out"; exit 1; fi
    RPS[$1,$3]=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    P50[$1,$3]=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
    P99[$1,$3]=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
}
# Warm every path (connection pools, page cache) before measuring.
declare -A URL=(
    [direct]="http://127.0.0.1:$UP_PORT/v1/chat/completions"
    [nginx]="http://127.0.0.1:$HOP_PORT/v1/chat/completions"
    [switchyard]="http://127.0.0.1:$SY_PORT/v1/chat/completions"
    [anthropic]="http://127.0.0.1:$SY_PORT/v1/chat/completions"
    [ollama]="http://127.0.0.1:$SY_PORT/v1/chat/completions"
    [gemini]="http://127.0.0.1:$SY_PORT/v1/chat/completions"
    [bedrock]="http://127.0.0.1:$SY_PORT/v1/chat/completions"
    [messages]="http://127.0.0.1:$SY_PORT/v1/messages"
    [metrics-off]="http://127.0.0.1:$SY_METRICS_PORT/v1/chat/completions"
    [redis-hit]="http://127.0.0.1:$SY_REDIS_PORT/v1/chat/completions"
    [local-hit]="http://127.0.0.1:$SY_LOCAL_PORT/v1/chat/completions"
)
TARGETS="direct nginx switchyard metrics-off messages anthropic gemini ollama bedrock redis-hit local-hit"
if [ -n "${BASELINE:-}" ]; then
    wait_port "$BASE_PORT"
    URL[baseline]="http://127.0.0.1:$BASE_PORT/v1/chat/completions"
    URL[baseline-anthropic]="http://127.0.0.1:$BASE_PORT/v1/chat/completions"
    TARGETS="$TARGETS baseline baseline-anthropic"
fi
for t in $TARGETS; do
    wrk -t1 -c8 -d2s -s "$(script_for "$t")" "${URL[$t]}" >/dev/null
done
BODY_JSON=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$WORK/post.lua")
for t in redis-hit local-hit; do
    marker=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d "$BODY_JSON" "${URL[$t]}" \
        | tr -d '\r' | awk -F': ' 'tolower($1)=="x-switchyard-cache" {print $2}')
    [ "$marker" = hit ] || { echo "bench: $t does not answer from its cache (x-switchyard-cache: $marker)" >&2; exit 1; }
done
for c in $CONCURRENCY; do
    for t in $TARGETS; do run_cell "$t" "${URL[$t]}" "$c"; done
done
{
    echo "run.targets=$TARGETS"
    for c in $CONCURRENCY; do
        for t in $TARGETS; do
            echo "cell.$t.$c.rps=${RPS[$t,$c]}"
            echo "cell.$t.$c.p50_ms=${P50[$t,$c]}"
            echo "cell.$t.$c.p99_ms=${P99[$t,$c]}"
        done
    done
    echo "rss.idle_kb=$IDLE_KB"
    echo "rss.peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SY_PID/status")"
    echo "requests.recorded=$(curl -s "http://127.0.0.1:$SY_PORT/ui/state" | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"]["total"])')"
    python3 bench/first_chunk.py "http://127.0.0.1:$STREAM_PORT/v1/chat/completions" \
        "http://127.0.0.1:$HOP_STREAM_PORT/v1/chat/completions" "http://127.0.0.1:$SY_PORT/v1/chat/completions"
} >> "$FIGURES"
# The other scenarios start their own processes: stop these first so they measure alone.
stop_processes
for scenario in streams groups; do
    if [[ " $SCENARIOS " == *" $scenario "* ]]; then bash "bench/$scenario.sh" >> "$FIGURES"; fi
done
python3 bench/summary.py "$FIGURES" | tee "$RESULTS"
