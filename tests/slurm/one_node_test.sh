#!/usr/bin/env bash
# A real one-node SLURM (Debian's slurm-wlm and munge, run as root without systemd, everything
# in a private temp directory), and the Switchyard job array on it:
#   sbatch --array=0-1 slurm/array_proxy.slurm  -> two gateway instances register host:port;
#   each answers /v1/chat/completions with its own x-switchyard-instance;
#   slurm/manage_proxy.sh status shows both healthy;
#   slurm/manage_proxy.sh render-nginx writes the server list nginx/nginx.conf includes, and a
#   real nginx (loopback, temp prefix) accepts it (nginx -t) and serves through it;
#   slurm/manage_proxy.sh stop ends the jobs and their registrations;
#   slurm/manage_proxy.sh reload: both instances of an array take a changed config (SIGHUP);
#   slurm/manage_proxy.sh start-backends/backends/stop-backends: a model server job (a small
#   OpenAI-compatible server standing in for vLLM) registers with a gateway, serves its group,
#   and leaves it before it stops; the group then falls back.
#
# Usage: tests/slurm/one_node_test.sh [GATEWAY_BINARY]   (default $SWITCHYARD_BIN, else
#        target/debug/switchyard). Needs root; installs slurm-wlm and munge with apt-get when
# they are missing. Without them: a loud SKIP, or a failure when CI=true.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

say() { printf '[slurm-test] %s\n' "$*"; }
fail() { printf '[slurm-test] FAIL: %s\n' "$*" >&2; exit 1; }
skip_or_fail() {
    if [ "${CI:-}" = true ]; then fail "$* (CI=true: required)"; fi
    printf '\n[slurm-test] ************************************************************\n' >&2
    printf '[slurm-test] SKIP: %s\n' "$*" >&2
    printf '[slurm-test] ************************************************************\n\n' >&2
    exit 0
}

BIN="${1:-${SWITCHYARD_BIN:-target/debug/switchyard}}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
[ -x "$BIN" ] || fail "gateway binary $BIN not found (build it, or pass its path)"

# ---- prerequisites ------------------------------------------------------------------------
have_all() {
    local t
    for t in slurmctld slurmd sbatch squeue scancel sinfo munged munge unmunge; do
        command -v "$t" >/dev/null 2>&1 || return 1
    done
}
[ "$(id -u)" -eq 0 ] || skip_or_fail "the one-node SLURM test runs slurmctld/slurmd/munged as root (run as root)"
if ! have_all; then
    if command -v apt-get >/dev/null 2>&1; then
        say "installing slurm-wlm and munge (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get install -y -qq -o DPkg::Lock::Timeout=120 slurm-wlm munge >/dev/null 2>&1 \
            || { apt-get update -qq -o DPkg::Lock::Timeout=120 \
                 && apt-get install -y -qq -o DPkg::Lock::Timeout=120 slurm-wlm munge >/dev/null; }; } \
            || true
    fi
    have_all || skip_or_fail "slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)"
fi
for t in nginx curl python3; do
    command -v "$t" >/dev/null 2>&1 || skip_or_fail "$t is not installed"
done

# ---- private state ------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-slurm.XXXXXX")"
chmod 755 "$TMP"
mkdir -p "$TMP/munge" "$TMP/state" "$TMP/spool" "$TMP/run" "$TMP/log" "$TMP/logs" "$TMP/registry" "$TMP/nginx"
export SLURM_CONF="$TMP/slurm.conf"
export USER="${USER:-$(id -un)}"
NGINX_STARTED=0
OK=0

dump_logs() {
    local f
    for f in "$TMP"/log/*.log "$TMP"/logs/* "$TMP"/nginx/error.log "$TMP"/munge/munged.log; do
        [ -f "$f" ] || continue
        printf '\n----- %s (last 40 lines) -----\n' "${f#"$TMP"/}" >&2
        tail -n 40 "$f" >&2
    done
}

kill_pidfile() { # pid file, name: TERM, wait up to 10 s, then KILL
    local pid
    [ -f "$1" ] || return 0
    pid="$(cat "$1" 2>/dev/null || true)"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    say "$2 (pid $pid) did not stop on TERM: KILL"
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    if [ "$OK" != 1 ]; then dump_logs; fi
    if [ "$NGINX_STARTED" = 1 ]; then kill_pidfile "$TMP/nginx/nginx.pid" nginx; fi
    if [ -n "${GW_PID:-}" ]; then kill "$GW_PID" 2>/dev/null; fi
    if [ -n "${LOAD_PID:-}" ]; then touch "$TMP/load.stop"; kill "$LOAD_PID" 2>/dev/null; fi
    if [ -f "$TMP/run/slurmctld.pid" ]; then
        local ids
        ids="$(squeue -h -o %A 2>/dev/null)"
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086  # one argument per job id
            scancel $ids 2>/dev/null
            for _ in $(seq 1 60); do
                [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
                sleep 0.5
            done
        fi
    fi
    # Anything our slurmd started that is still alive (job steps outlive slurmd): by pid, found
    # through the private SLURM_CONF in their environment.
    local p
    while read -r p; do
        [ -n "$p" ] || continue
        case "$(cat "/proc/$p/comm" 2>/dev/null)" in
            switchyard | slurmstepd | slurm_script) kill -KILL "$p" 2>/dev/null ;;
        esac
    done < <(grep -lsF "SLURM_CONF=$TMP/slurm.conf" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
    kill_pidfile "$TMP/run/slurmd.pid" slurmd
    kill_pidfile "$TMP/run/slurmctld.pid" slurmctld
    kill_pidfile "$TMP/munge/munged.pid" munged
    if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_for() { # seconds, description, command...
    local secs="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${secs}s waiting for $what"
        sleep 0.5
    done
}

# ---- munge: private key, socket, pid ------------------------------------------------------
dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$TMP/munge/munge.key"
MUNGE_SOCKET="$TMP/munge/munge.socket"
munged --force --key-file="$TMP/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$TMP/munge/munged.pid" --log-file="$TMP/munge/munged.log" \
    --seed-file="$TMP/munge/munged.seed" 2>/dev/null || fail "munged did not start"
munge_ok() { munge -S "$MUNGE_SOCKET" -n 2>/dev/null | unmunge -S "$MUNGE_SOCKET" 2>/dev/null | grep -q 'STATUS: *Success'; }
wait_for 10 "munged" munge_ok
say "munged up"

# ---- slurm.conf: one node, this host, loopback ----------------------------------------------
NODE="$(hostname -s)"
CTLD_PORT="$(free_port)"
SLURMD_PORT="$(free_port)"
cat >"$SLURM_CONF" <<EOF
ClusterName=switchyardtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/run/slurmctld.pid
SlurmdPidFile=$TMP/run/slurmd.pid
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
KillWait=15
# The node as configured, whatever the machine has (two 2-CPU, 2 GB tasks must fit at once).
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=8 RealMemory=16000 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" -N "$NODE" || fail "slurmd did not start"
node_idle() { sinfo -h -n "$NODE" -o %t 2>/dev/null | grep -qx 'idle'; }
wait_for 30 "the node to be idle (sinfo)" node_idle
say "slurmctld and slurmd up, node $NODE idle"

# ---- the job array --------------------------------------------------------------------------
PORT_BASE=$((20000 + RANDOM % 20000))
export SWITCHYARD_BIN="$BIN"
export SWITCHYARD_CONFIG=builtin
export SWITCHYARD_REGISTRY="$TMP/registry"
export SWITCHYARD_STATE_DIR="$TMP/manage-state"
export SWITCHYARD_LOG_DIR="$TMP/logs"
export SWITCHYARD_HOST=127.0.0.1
export SWITCHYARD_PORT_MIN="$PORT_BASE"
export SWITCHYARD_PORT_MAX=$((PORT_BASE + 99))
export SWITCHYARD_GRACE_PERIOD=5
export SWITCHYARD_START_TIMEOUT=30
unset SWITCHYARD_HOME SWITCHYARD_ENV_FILE SWITCHYARD_PORT SWITCHYARD_INSTANCE_ID

JOB="$(sbatch --parsable --array=0-1 --output="$TMP/logs/%x_%A_%a.out" --error="$TMP/logs/%x_%A_%a.err" \
    slurm/array_proxy.slurm)" || fail "sbatch failed"
JOB="${JOB%%;*}"
say "submitted array job $JOB"

registered() {
    [ "$(find "$TMP/registry" -name '*.endpoint' | wc -l)" -ge 2 ] && return 0
    # Both tasks ended (or failed) without registering: no point in waiting longer.
    [ -n "$(squeue -h -j "$JOB" -o %A 2>/dev/null)" ] || fail "the array tasks left the queue without registering"
    return 1
}
wait_for 60 "two registrations in the registry" registered
mapfile -t ENDPOINTS < <(cat "$TMP"/registry/*.endpoint)
[ "${#ENDPOINTS[@]}" -eq 2 ] || fail "expected 2 endpoints, got ${#ENDPOINTS[@]}: ${ENDPOINTS[*]}"
say "registered: ${ENDPOINTS[*]}"

CHAT='{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello from the SLURM test"}]}'
chat() { # base url, header file -> prints status code
    curl -s -m 10 -o "$TMP/body.json" -D "$2" -w '%{http_code}' "$1/v1/chat/completions" \
        -H 'Content-Type: application/json' -d "$CHAT"
}
instance_of() { tr -d '\r' <"$1" | sed -n 's/^x-switchyard-instance: *//Ip' | head -n 1; }

declare -A SEEN=()
for ep in "${ENDPOINTS[@]}"; do
    code="$(chat "http://$ep" "$TMP/headers")"
    [ "$code" = 200 ] || fail "POST http://$ep/v1/chat/completions: HTTP $code: $(cat "$TMP/body.json")"
    grep -q '"chat.completion"' "$TMP/body.json" || fail "$ep: not a chat.completion: $(cat "$TMP/body.json")"
    inst="$(instance_of "$TMP/headers")"
    [ -n "$inst" ] || fail "$ep: no x-switchyard-instance header"
    SEEN["$inst"]=1
    say "$ep answered 200 as instance $inst"
done
[ "${#SEEN[@]}" -eq 2 ] || fail "the two instances did not report distinct x-switchyard-instance ids: ${!SEEN[*]}"

# ---- manage_proxy.sh status ------------------------------------------------------------------
STATUS="$(./slurm/manage_proxy.sh status)" || fail "manage_proxy.sh status failed"
printf '%s\n' "$STATUS"
for ep in "${ENDPOINTS[@]}"; do
    grep -E "^ *$ep +${JOB}_[01] +healthy" <<<"$STATUS" >/dev/null || fail "status does not show $ep as healthy"
done
grep -q '2 of 2 healthy' <<<"$STATUS" || fail "status does not count 2 healthy endpoints"
grep -q "switchyard-array *RUNNING" <<<"$STATUS" || fail "status does not list the running array tasks"

# ---- render-nginx + a real nginx -------------------------------------------------------------
# FILE: just the server list (what nginx/nginx.conf includes).
./slurm/manage_proxy.sh render-nginx "$TMP/upstreams-only.conf" || fail "render-nginx FILE failed"
for ep in "${ENDPOINTS[@]}"; do
    grep -q "^server $ep max_fails=[0-9]* fail_timeout=" "$TMP/upstreams-only.conf" || fail "render-nginx did not list $ep"
done
# DIR/: the server list next to a copy of nginx/nginx.conf a normal user can run (listen
# port, logs and temp files in DIR): run exactly the command it prints.
NGINX_PORT="$(free_port)"
SWITCHYARD_NGINX_LISTEN="127.0.0.1:$NGINX_PORT" ./slurm/manage_proxy.sh render-nginx "$TMP/nginx/" 2>"$TMP/render.txt" \
    || fail "render-nginx DIR/ failed: $(cat "$TMP/render.txt")"
cat "$TMP/render.txt"
cmp -s "$TMP/upstreams-only.conf" "$TMP/nginx/upstreams.conf" \
    || diff <(grep '^server' "$TMP/upstreams-only.conf") <(grep '^server' "$TMP/nginx/upstreams.conf") >/dev/null \
    || fail "render-nginx FILE and DIR/ disagree"
grep -q 'include upstreams.conf;' "$TMP/nginx/nginx.conf" || fail "nginx/nginx.conf does not include upstreams.conf"
NGINX_CMD="$(sed -n 's/^start nginx: *//p' "$TMP/render.txt")"
[ -n "$NGINX_CMD" ] || fail "render-nginx DIR/ did not print the nginx command"
NGINX=(nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" -g "pid $TMP/nginx/nginx.pid;")
[ "$NGINX_CMD" = "nginx -p $TMP/nginx/ -c $TMP/nginx/nginx.conf -e $TMP/nginx/error.log -g 'pid $TMP/nginx/nginx.pid;'" ] \
    || fail "render-nginx printed an unexpected command: $NGINX_CMD"
"${NGINX[@]}" -t 2>"$TMP/nginx/t.out" || fail "nginx -t rejects nginx.conf + the rendered upstreams: $(cat "$TMP/nginx/t.out")"
say "nginx -t accepts nginx/nginx.conf with the rendered upstreams"
"${NGINX[@]}" || fail "nginx did not start"
NGINX_STARTED=1
nginx_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$NGINX_PORT/nginx-health"; }
wait_for 10 "nginx" nginx_up

declare -A VIA=()
for i in 1 2 3 4 5 6; do
    code="$(chat "http://127.0.0.1:$NGINX_PORT" "$TMP/headers")"
    [ "$code" = 200 ] || fail "through nginx, request $i: HTTP $code: $(cat "$TMP/body.json")"
    inst="$(instance_of "$TMP/headers")"
    [ -n "${SEEN[$inst]:-}" ] || fail "through nginx: answered by unknown instance '$inst'"
    VIA["$inst"]=1
done
say "6 chat requests through nginx: 200, answered by ${!VIA[*]}"
[ "${#VIA[@]}" -eq 2 ] || fail "nginx sent every request to one instance (least_conn should spread them)"
code="$(curl -s -m 5 -o "$TMP/live.txt" -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/health/liveliness")"
[ "$code" = 200 ] || fail "GET /health/liveliness through nginx: HTTP $code"
curl -s -N -m 10 "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "stream"}]}' >"$TMP/stream.txt"
if ! grep -q '^data: {' "$TMP/stream.txt" || ! grep -q '^data: \[DONE\]' "$TMP/stream.txt"; then
    fail "streamed answer through nginx: $(head -c 500 "$TMP/stream.txt")"
fi
say "health and a streamed answer pass through nginx"

# ---- one task told to stop (as at its time limit: #SBATCH --signal=B:TERM@60) -----------------
# SIGTERM to the batch shell: the task must deregister, stop its gateway and end; nginx fails
# over to the other instance without a failed request.
VICTIM_FILE="$(find "$TMP/registry" -name '*.endpoint' | sort | head -n 1)"
VICTIM_ID="$(basename "$VICTIM_FILE" .endpoint)"
VICTIM_EP="$(cat "$VICTIM_FILE")"
scancel --batch --signal=TERM "$VICTIM_ID" || fail "scancel --batch --signal=TERM $VICTIM_ID failed"
victim_gone() { [ ! -f "$VICTIM_FILE" ] && [ -z "$(squeue -h -j "$VICTIM_ID" -o %A 2>/dev/null)" ]; }
wait_for 20 "task $VICTIM_ID to deregister and end after SIGTERM" victim_gone
if curl -s -o /dev/null -m 2 "http://$VICTIM_EP/health/liveliness"; then fail "$VICTIM_EP still answers after SIGTERM"; fi
grep -q "received SIGTERM" "$TMP"/logs/*.out || fail "no task logged the SIGTERM it received"
for i in 1 2 3 4 5 6; do
    code="$(chat "http://127.0.0.1:$NGINX_PORT" "$TMP/headers")"
    [ "$code" = 200 ] || fail "through nginx with $VICTIM_EP down, request $i: HTTP $code"
done
say "task $VICTIM_ID ($VICTIM_EP): SIGTERM -> deregistered, gateway stopped, job ended; nginx failed over (6/6 200)"

# ---- manage_proxy.sh stop --------------------------------------------------------------------
./slurm/manage_proxy.sh stop || fail "manage_proxy.sh stop failed"
left="$(squeue -h -o '%A %j' 2>/dev/null || true)"
[ -z "$left" ] || fail "jobs still in the queue after stop: $left"
regs="$(find "$TMP/registry" -name '*.endpoint')"
[ -z "$regs" ] || fail "registrations left after stop: $regs"
[ "$(cat "$TMP"/logs/*_"$JOB"_*.out | grep -c 'registration .* removed')" -eq 2 ] \
    || fail "the tasks did not both log their deregistration"
for ep in "${ENDPOINTS[@]}"; do
    if curl -s -o /dev/null -m 2 "http://$ep/health/liveliness"; then fail "$ep still answers after stop"; fi
done
say "stop: jobs gone, registrations removed, instances down"

# ---- the commands users type: start-array N, logs, reload, restart, stop ----------------------
export SWITCHYARD_START_WAIT=40
# A config file this time, so that `reload` has something to read again.
gateway_config() { # model group names
    printf 'model_list:\n'
    for name in "$@"; do
        printf '  - model_name: %s\n    litellm_params: {model: openai/gpt-4o, api_key: sk-not-used-here, mock_response: "hi from %s"}\n' "$name" "$name"
    done
}
gateway_config quick >"$TMP/gateway.yaml"
export SWITCHYARD_CONFIG="$TMP/gateway.yaml"
OUT="$(./slurm/manage_proxy.sh start-array 2)" || fail "manage_proxy.sh start-array 2 failed: $OUT"
printf '%s\n' "$OUT"
grep -q '2 instance(s) registered' <<<"$OUT" || fail "start-array 2 did not report two registered instances"
[ "$(find "$TMP/registry" -name '*.endpoint' | wc -l)" -eq 2 ] || fail "start-array 2: expected 2 registrations"
./slurm/manage_proxy.sh logs >"$TMP/logs-cmd.txt" || fail "manage_proxy.sh logs failed"
grep -q 'registered .* in ' "$TMP/logs-cmd.txt" || fail "manage_proxy.sh logs does not show the job's output"
gateway_config quick added >"$TMP/gateway.yaml"
OUT="$(./slurm/manage_proxy.sh reload)" || fail "manage_proxy.sh reload failed: $OUT"
printf '%s\n' "$OUT"
[ "$(grep -c 'config generation 1 -> 2' <<<"$OUT")" -eq 2 ] || fail "reload: both instances should report generation 1 -> 2: $OUT"
for ep in $(./slurm/manage_proxy.sh endpoints); do
    curl -s -m 5 "http://$ep/v1/models" | grep -q '"added"' || fail "$ep does not serve the group the reload added"
done
grep -q "received SIGHUP" "$TMP"/logs/*.out || fail "no task logged the SIGHUP it passed on"
say "reload: both instances on config generation 2 without a restart, serving the new group"
OLD="$(./slurm/manage_proxy.sh endpoints | sort)"
OUT="$(./slurm/manage_proxy.sh restart)" || fail "manage_proxy.sh restart failed: $OUT"
grep -q '2 instance(s) registered' <<<"$OUT" || fail "restart did not bring back two instances: $OUT"
NEW_JOBS="$(squeue -h -r -o %i | sort | tr '\n' ' ')"
say "restart: $(tr '\n' ' ' <<<"$OLD")-> $(./slurm/manage_proxy.sh endpoints | tr '\n' ' ')(jobs $NEW_JOBS)"
[ "$(squeue -h -r -o %i | wc -l)" -eq 2 ] || fail "after restart: expected 2 tasks in the queue, got $NEW_JOBS"
./slurm/manage_proxy.sh stop >/dev/null || fail "manage_proxy.sh stop (after restart) failed"
[ -z "$(squeue -h -o %A)" ] || fail "jobs left after the second stop"
[ -z "$(find "$TMP/registry" -name '*.endpoint')" ] || fail "registrations left after the second stop"
say "start-array, logs, reload, restart, stop: ok"

# ---- backends that register themselves: slurm/backend.slurm, manage_proxy.sh *-backends -------
# A gateway on the login side (here: a plain process) whose group "qwen" has one deployment that
# is down and a fallback; a backend job joins "qwen" while it runs.
GW_PORT=$((PORT_BASE + 200))
BACKUP_TEXT="the fallback answered"
cat >"$TMP/backend-gateway.yaml" <<EOF
model_list:
  - model_name: qwen
    litellm_params: {model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: "http://127.0.0.1:1/v1"}
    model_info: {id: qwen-down}
  - model_name: backup
    litellm_params: {model: openai/gpt-4o, api_key: sk-not-used-here, mock_response: "$BACKUP_TEXT"}
router_settings:
  num_retries: 2
  fallbacks: [{qwen: [backup]}]
general_settings:
  master_key: sk-slurm-backend-test-key
EOF
"$BIN" --config "$TMP/backend-gateway.yaml" --host 127.0.0.1 --port "$GW_PORT" --workers 2 >"$TMP/logs/backend-gateway.log" 2>&1 &
GW_PID=$!
gw_up() { curl -s -o /dev/null -f -m 2 "http://127.0.0.1:$GW_PORT/health/liveliness"; }
wait_for 20 "the backends' gateway to answer" gw_up
export SWITCHYARD_GATEWAY="http://127.0.0.1:$GW_PORT"
export SWITCHYARD_MASTER_KEY=sk-slurm-backend-test-key
export SWITCHYARD_BACKEND_GROUP=qwen
export SWITCHYARD_BACKEND_PORT_MIN=$((PORT_BASE + 300))
export SWITCHYARD_BACKEND_PORT_MAX=$((PORT_BASE + 399))
export SWITCHYARD_ADVERTISE_HOST=127.0.0.1
export SWITCHYARD_BACKEND_WAIT=60
# The job script asks for a GPU node's resources; this test node is small.
export SWITCHYARD_MEM=1G SWITCHYARD_CPUS=1
export SWITCHYARD_BACKEND_CMD="python3 $ROOT/tests/slurm/mock_openai_server.py --port {port} --name slurm-backend --log $TMP/backend-requests.log"
# A steady load on the group while the backend joins and leaves: not one request may fail.
load_loop() {
    local code
    while [ ! -f "$TMP/load.stop" ]; do
        code="$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_PORT/v1/chat/completions" \
            -H "Authorization: Bearer $SWITCHYARD_MASTER_KEY" -H 'Content-Type: application/json' \
            -d '{"model": "qwen", "messages": [{"role": "user", "content": "load"}]}')" || code=000
        printf '%s\n' "$code" >>"$TMP/load.codes"
    done
}
load_loop &
LOAD_PID=$!
OUT="$(./slurm/manage_proxy.sh start-backends 1)" || fail "manage_proxy.sh start-backends 1 failed: $OUT"
printf '%s\n' "$OUT"
grep -q '1 backend(s) registered' <<<"$OUT" || fail "the backend did not register: $OUT"
grep -q 'server=healthy  routed=yes' <<<"$OUT" || fail "manage_proxy.sh backends: not healthy and routed: $OUT"
BACKEND_JOB="$(squeue -h -r --name=switchyard-backend -o %i | head -n 1)"
ask_qwen() { # -> status; the body in $TMP/qwen.json
    curl -s -m 10 -o "$TMP/qwen.json" -w '%{http_code}' "http://127.0.0.1:$GW_PORT/v1/chat/completions" \
        -H "Authorization: Bearer $SWITCHYARD_MASTER_KEY" -H 'Content-Type: application/json' \
        -d '{"model": "qwen", "messages": [{"role": "user", "content": "hi"}]}'
}
from_backend=0
for i in 1 2 3 4 5 6; do
    code="$(ask_qwen)"
    [ "$code" = 200 ] || fail "qwen with the backend up, request $i: HTTP $code: $(cat "$TMP/qwen.json")"
    if grep -q 'from backend slurm-backend' "$TMP/qwen.json"; then from_backend=$((from_backend + 1)); fi
done
[ "$from_backend" -eq 6 ] || fail "only $from_backend of 6 requests reached the backend job (a retry goes to it when the down deployment is tried)"
say "backend job $BACKEND_JOB registered as slurm-$BACKEND_JOB; $from_backend/6 requests answered by it"
OUT="$(./slurm/manage_proxy.sh stop-backends)" || fail "manage_proxy.sh stop-backends failed: $OUT"
printf '%s\n' "$OUT"
grep -q "deregistered slurm-$BACKEND_JOB" "$TMP"/logs/switchyard-backend_*.out || fail "the backend job did not log its deregistration"
if curl -s -H "Authorization: Bearer $SWITCHYARD_MASTER_KEY" "http://127.0.0.1:$GW_PORT/model/info" | grep -q "slurm-$BACKEND_JOB"; then
    fail "the gateway still lists the cancelled backend"
fi
served="$(wc -l <"$TMP/backend-requests.log")"
for i in 1 2 3 4; do
    code="$(ask_qwen)"
    [ "$code" = 200 ] || fail "qwen after the backend left, request $i: HTTP $code: $(cat "$TMP/qwen.json")"
    grep -q "$BACKUP_TEXT" "$TMP/qwen.json" || fail "qwen after the backend left did not fall back: $(cat "$TMP/qwen.json")"
done
[ "$(wc -l <"$TMP/backend-requests.log")" -eq "$served" ] || fail "a request reached the cancelled backend"
touch "$TMP/load.stop"
wait "$LOAD_PID" 2>/dev/null || true
LOAD_TOTAL="$(wc -l <"$TMP/load.codes")"
LOAD_FAILED="$(grep -vcx 200 "$TMP/load.codes" || true)"
say "load during the backend's join and leave: $LOAD_TOTAL requests, $LOAD_FAILED not 200"
[ "$LOAD_FAILED" -eq 0 ] || fail "requests failed while the backend joined or left: $(sort "$TMP/load.codes" | uniq -c | tr '\n' ' ')"
[ "$LOAD_TOTAL" -gt 10 ] || fail "the load did not run ($LOAD_TOTAL requests)"
kill "$GW_PID" 2>/dev/null || true
wait "$GW_PID" 2>/dev/null || true
say "backends: start-backends -> registered and served; stop-backends -> deregistered first, qwen falls back, nothing routed to the cancelled job"

OK=1
say "PASS"
