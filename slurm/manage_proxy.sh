#!/usr/bin/env bash
# Switchyard on a SLURM cluster: start, watch and stop gateway jobs from the login node.
# `./slurm/manage_proxy.sh help` for the commands. Settings are environment variables (below).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# ---------------------------------------------------------------------------------------------
# Settings (environment variables; defaults in brackets)
#   SWITCHYARD_HOME          the checkout [the directory above this script]
#   SWITCHYARD_REGISTRY      where jobs register "host:port" [$HOME/.switchyard/endpoints];
#                            must be on a file system shared by the login and compute nodes
#   SWITCHYARD_LOG_DIR       job logs [$SWITCHYARD_HOME/logs]
#   SWITCHYARD_STATE_DIR     remembers the last start command for `restart` [$HOME/.switchyard]
#   SWITCHYARD_JOB_PREFIX    job names PREFIX-container, PREFIX-direct, PREFIX-array; `stop`
#                            and `status` find this tool's jobs by these names [switchyard]
#   Resources for the jobs (each overrides the #SBATCH line of the job script when set):
#   SWITCHYARD_TIME          --time, e.g. 48:00:00
#   SWITCHYARD_CPUS          --cpus-per-task, e.g. 16
#   SWITCHYARD_MEM           --mem, e.g. 8G
#   SWITCHYARD_PARTITION     --partition, e.g. memorylong
#   SWITCHYARD_ACCOUNT       --account
#   SWITCHYARD_SBATCH_ARGS   any further sbatch options, e.g. "--qos=long --nodelist=node12"
#   SWITCHYARD_START_WAIT    seconds `start*` waits for the instances to register [120; 0 = no wait]
#   SWITCHYARD_STOP_TIMEOUT  seconds `stop` waits for the jobs to end [120]
#   SWITCHYARD_NGINX_MAX_FAILS / SWITCHYARD_NGINX_FAIL_TIMEOUT   per-server settings written
#                            by render-nginx [3 / 30s]
#   The jobs themselves read SWITCHYARD_BIN, SWITCHYARD_CONFIG, SWITCHYARD_ENV_FILE,
#   SWITCHYARD_PORT, SWITCHYARD_GRACE_PERIOD, SWITCHYARD_RUNTIME, SWITCHYARD_SIF, ... (see
#   slurm/switchyard_job.sh); sbatch passes them from this shell.
# ---------------------------------------------------------------------------------------------
SWITCHYARD_HOME="${SWITCHYARD_HOME:-$(cd "$SCRIPT_DIR/.." && pwd)}"
REGISTRY="${SWITCHYARD_REGISTRY:-$HOME/.switchyard/endpoints}"
LOG_DIR="${SWITCHYARD_LOG_DIR:-$SWITCHYARD_HOME/logs}"
STATE_DIR="${SWITCHYARD_STATE_DIR:-$HOME/.switchyard}"
PREFIX="${SWITCHYARD_JOB_PREFIX:-switchyard}"
JOB_NAMES="$PREFIX-container,$PREFIX-direct,$PREFIX-array"
START_WAIT="${SWITCHYARD_START_WAIT:-120}"
STOP_TIMEOUT="${SWITCHYARD_STOP_TIMEOUT:-120}"
ME="${USER:-$(id -un)}"
PROG="$(basename "$0")"

say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { warn "$*"; exit 1; }

usage() {
    cat <<EOF
Switchyard on SLURM: $PROG COMMAND

  start              submit slurm/start_proxy.slurm: one instance in a container
                     (Apptainer/Singularity image SWITCHYARD_SIF, or Docker: SWITCHYARD_RUNTIME)
  start-direct       submit slurm/start_proxy_direct.slurm: one instance, the binary itself
  start-array N      submit slurm/array_proxy.slurm as a job array of N instances, each on a
                     free port of its node, each registered in the registry while it serves
  status             this tool's jobs (squeue), their nodes, the registered endpoints and each
                     one's health (/health/liveliness and /health/readiness)
  logs [JOBID] [-f]  the job's output and errors (default: the newest job); -f follows
  stop               cancel this tool's jobs (found by their names, $PREFIX-*), wait
                     until they are gone and deregistered, remove stale registrations
  restart            stop, then start again the way the jobs were started
  start-backends N   submit slurm/backend.slurm as an array of N model servers (vLLM by
                     default: SWITCHYARD_BACKEND_CMD), each registering itself with the
                     gateway (POST /model/new) once it answers and leaving it before it stops
  backends           the backend jobs, their registrations, each server's health and whether
                     the gateway routes to it
  stop-backends      cancel the backend jobs; each deregisters before its server stops
  reload             every running instance reads its config again (SIGHUP), without a
                     restart: in-flight requests and streams go on; waits until each
                     registered endpoint reports a new config generation
  endpoints          the registered endpoints, one host:port per line
  render-nginx [FILE|DIR/]
                     write the nginx server list (the include of nginx/nginx.conf's upstream)
                     from the registered endpoints: to stdout, to FILE, or into DIR/ as
                     upstreams.conf next to a copy of nginx/nginx.conf that a normal user can
                     run (listen SWITCHYARD_NGINX_LISTEN, default 8080; logs, temp files in DIR)
  help               this text

Registry: $REGISTRY (SWITCHYARD_REGISTRY)   Logs: $LOG_DIR (SWITCHYARD_LOG_DIR)
Resources: SWITCHYARD_TIME, SWITCHYARD_CPUS, SWITCHYARD_MEM, SWITCHYARD_PARTITION,
SWITCHYARD_ACCOUNT, SWITCHYARD_SBATCH_ARGS (or edit the #SBATCH lines of the job scripts).
Gateway: SWITCHYARD_CONFIG (default config/config.yaml; "builtin" = quick start),
SWITCHYARD_ENV_FILE (API keys, REDIS_HOST/PORT/PASSWORD; default .env in the checkout),
SWITCHYARD_BIN, SWITCHYARD_PORT (single jobs, default 4000).

Examples:
  SWITCHYARD_PARTITION=memorylong SWITCHYARD_TIME=48:00:00 $PROG start-direct
  $PROG start-array 4 && $PROG render-nginx ~/switchyard-nginx/
      # then run the nginx command it prints: one address (port 8080) in front of the 4
  $PROG status

Reaching an instance on a compute node from your machine (ssh port forwarding):
  NODE=\$(squeue -j <JOB_ID> -h -o %N)                # or: $PROG endpoints
  ssh -L 4000:\$NODE:4000 you@cluster-login           # host:port as registered
  curl http://localhost:4000/health/liveliness       # then base_url http://localhost:4000/v1
Compute nodes are usually reachable from the login node only; nginx on the login node
(render-nginx DIR/) gives one address for all instances: ssh -L 8080:localhost:8080 you@login.
EOF
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: run this on a SLURM login node ($2)"; }

# This tool's jobs, one line per array task: "rawjobid|jobid|name|state|time|nodes-or-reason"
# (jobid: <job id>, or <array job id>_<task>: the name of the task's registration).
our_jobs() {
    command -v squeue >/dev/null 2>&1 || return 0
    squeue -h -r -u "$ME" --name="$JOB_NAMES" -o '%A|%i|%j|%T|%M|%R' 2>/dev/null
}

# Registration files, one per line (sorted).
registrations() {
    [ -d "$REGISTRY" ] || return 0
    find "$REGISTRY" -maxdepth 1 -type f -name '*.endpoint' 2>/dev/null | sort
}

reg_endpoint() { head -n 1 "$1" | tr -d '[:space:]'; }
reg_job() { basename "$1" .endpoint; }

# Job ids SLURM knows for this user, as the registrations name them (squeue %i: <job id>, or
# <array job id>_<task> for array tasks); one squeue call, cached until ALIVE_LOADED=0.
ALIVE_LOADED=0
load_alive() {
    [ "$ALIVE_LOADED" = 0 ] || return 0
    ALIVE_LOADED=1
    ALIVE_OK=0
    ALIVE_IDS=""
    if command -v squeue >/dev/null 2>&1 && ALIVE_IDS="$(squeue -h -r -u "$ME" -o %i 2>/dev/null)"; then
        ALIVE_OK=1
    else
        warn "squeue did not answer: registrations are not checked against the queue"
    fi
}

# Is the job of this registration still in the queue? (assumed yes when squeue cannot tell)
job_alive() {
    load_alive
    [ "$ALIVE_OK" = 1 ] || return 0
    grep -qxF "$1" <<<"$ALIVE_IDS"
}

# Health of one endpoint: "healthy", "not ready (HTTP n)", "unreachable".
probe() {
    command -v curl >/dev/null 2>&1 || { say "unknown (no curl)"; return; }
    local live ready body
    live="$(curl -s -o /dev/null -w '%{http_code}' -m 3 "http://$1/health/liveliness" 2>/dev/null || true)"
    if [ "$live" != 200 ]; then
        case "$live" in '' | 000) live="no answer" ;; *) live="HTTP $live" ;; esac
        say "unreachable (liveliness: $live)"
        return
    fi
    body="$(curl -s -m 3 -w '\n%{http_code}' "http://$1/health/readiness" 2>/dev/null || true)"
    ready="${body##*$'\n'}"
    local inst
    inst="$(printf '%s' "$body" | sed -n 's/.*"instance":"\([^"]*\)".*/\1/p' | head -n 1)"
    if [ "$ready" = 200 ]; then
        say "healthy${inst:+ (instance $inst)}"
    else
        say "alive, not ready (readiness HTTP ${ready:-none}; draining?)"
    fi
}

# sbatch options common to every start.
sbatch_opts() {
    SB=(--parsable)
    if [ -n "${SWITCHYARD_TIME:-}" ]; then SB+=(--time="$SWITCHYARD_TIME"); fi
    if [ -n "${SWITCHYARD_CPUS:-}" ]; then SB+=(--cpus-per-task="$SWITCHYARD_CPUS"); fi
    if [ -n "${SWITCHYARD_MEM:-}" ]; then SB+=(--mem="$SWITCHYARD_MEM"); fi
    if [ -n "${SWITCHYARD_PARTITION:-}" ]; then SB+=(--partition="$SWITCHYARD_PARTITION"); fi
    if [ -n "${SWITCHYARD_ACCOUNT:-}" ]; then SB+=(--account="$SWITCHYARD_ACCOUNT"); fi
    if [ -n "${SWITCHYARD_SBATCH_ARGS:-}" ]; then
        local extra=()
        read -r -a extra <<<"$SWITCHYARD_SBATCH_ARGS"
        SB+=("${extra[@]}")
    fi
}

# start KIND [N]: KIND = container | direct | array.
start_jobs() {
    need sbatch "sbatch submits the jobs"
    local kind="$1" n="${2:-}" script name
    case "$kind" in
        container) script="$SCRIPT_DIR/start_proxy.slurm" ;;
        direct) script="$SCRIPT_DIR/start_proxy_direct.slurm" ;;
        array) script="$SCRIPT_DIR/array_proxy.slurm" ;;
    esac
    name="$PREFIX-$kind"
    mkdir -p "$LOG_DIR" "$REGISTRY" "$STATE_DIR"
    sbatch_opts
    SB+=(--job-name="$name" --chdir="$SWITCHYARD_HOME")
    if [ "$kind" = array ]; then
        case "$n" in '' | *[!0-9]* | 0) die "start-array needs a number of instances (N >= 1)" ;; esac
        SB+=(--array="0-$((n - 1))" --output="$LOG_DIR/%x_%A_%a.out" --error="$LOG_DIR/%x_%A_%a.err")
    else
        n=1
        SB+=(--output="$LOG_DIR/%x_%j.out" --error="$LOG_DIR/%x_%j.err")
    fi
    # What the jobs need to find the checkout and each other.
    export SWITCHYARD_HOME SWITCHYARD_REGISTRY="$REGISTRY"
    local out id
    out="$(sbatch "${SB[@]}" "$script")" || die "sbatch failed"
    id="${out%%;*}"
    printf '%s\n' "$kind${2:+ $2}" >"$STATE_DIR/last_start"
    say "submitted job $id ($name, $n instance(s)); logs: $LOG_DIR/${name}_$id*.out"
    wait_registered "$id" "$n"
}

# ---- model servers as SLURM jobs that register themselves with the gateway (backend.slurm) ----
BACKEND_NAME="$PREFIX-backend"
BACKEND_DIR="$REGISTRY/backends"
BACKEND_WAIT="${SWITCHYARD_BACKEND_WAIT:-1800}"

backend_jobs() {
    command -v squeue >/dev/null 2>&1 || return 0
    squeue -h -r -u "$ME" --name="$BACKEND_NAME" -o '%A|%i|%j|%T|%M|%R' 2>/dev/null
}

cmd_start_backends() {
    need sbatch "sbatch submits the jobs"
    local n="${1:-}" out id
    case "$n" in '' | *[!0-9]* | 0) die "start-backends needs a number of backends (N >= 1)" ;; esac
    mkdir -p "$LOG_DIR" "$BACKEND_DIR"
    sbatch_opts
    SB+=(--job-name="$BACKEND_NAME" --chdir="$SWITCHYARD_HOME" --array="0-$((n - 1))"
        --output="$LOG_DIR/%x_%A_%a.out" --error="$LOG_DIR/%x_%A_%a.err")
    export SWITCHYARD_HOME SWITCHYARD_REGISTRY="$REGISTRY"
    out="$(sbatch "${SB[@]}" "$SCRIPT_DIR/backend.slurm")" || die "sbatch failed"
    id="${out%%;*}"
    say "submitted backend job $id ($BACKEND_NAME, $n backend(s)); logs: $LOG_DIR/${BACKEND_NAME}_$id*.out"
    [ "$BACKEND_WAIT" -gt 0 ] || return 0
    say "waiting up to ${BACKEND_WAIT}s for $n backend(s) to load and register (SWITCHYARD_BACKEND_WAIT) ..."
    local deadline=$((SECONDS + BACKEND_WAIT)) raw count rid state
    while :; do
        raw="$(squeue -h -r -j "$id" -o '%i %T' 2>/dev/null || true)"
        count=0
        while read -r rid state; do
            [ -n "${rid:-}" ] || continue
            if [ -f "$BACKEND_DIR/$rid.backend" ]; then count=$((count + 1)); fi
        done <<<"$raw"
        if [ "$count" -ge "$n" ]; then
            say "$count backend(s) registered"
            cmd_backends
            return 0
        fi
        [ -n "$raw" ] || die "backend job $id left the queue before registering: see '$PROG logs $id'"
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "not all registered yet ($count/$n): '$PROG backends' shows where they are"
            return 0
        fi
        sleep 2
    done
}

# Each backend's registration: its server's health, and whether the gateway routes to it.
cmd_backends() {
    say "== Backend jobs of $ME named $BACKEND_NAME"
    local jobs
    jobs="$(backend_jobs)" || true
    if [ -z "$jobs" ]; then
        say "   none"
    else
        printf '   %-14s %-10s %-12s %s\n' JOB STATE TIME 'NODE/REASON'
        while IFS='|' read -r _ jid _ state time where; do
            printf '   %-14s %-10s %-12s %s\n' "$jid" "$state" "$time" "$where"
        done <<<"$jobs"
    fi
    say "== Registered backends ($BACKEND_DIR)"
    local f ep group id gws server routed gw auth=()
    if [ -n "${SWITCHYARD_MASTER_KEY:-${LITELLM_MASTER_KEY:-}}" ]; then
        auth=(-H "Authorization: Bearer ${SWITCHYARD_MASTER_KEY:-${LITELLM_MASTER_KEY:-}}")
    fi
    local any=0
    for f in "$BACKEND_DIR"/*.backend; do
        [ -f "$f" ] || continue
        any=1
        read -r ep group id gws <"$f"
        server="down"
        if curl -s -o /dev/null -m 3 -f "http://$ep/v1/models" 2>/dev/null; then server="healthy"; fi
        routed="no"
        for gw in $gws; do
            if curl -s -m 3 "${auth[@]}" "$gw/model/info?litellm_model_id=$id" 2>/dev/null | grep -q "\"$id\""; then
                routed="yes ($gw)"
                break
            fi
        done
        if ! job_alive "$(basename "$f" .backend)"; then server="$server, job gone"; fi
        say "   $ep  group=$group  id=$id  server=$server  routed=$routed"
    done
    [ "$any" -eq 1 ] || say "   none"
}

cmd_stop_backends() {
    need squeue "squeue lists the jobs"
    local jobs ids
    jobs="$(backend_jobs)" || die "squeue failed: cannot list the backend jobs"
    ids="$(cut -d'|' -f2 <<<"$jobs" | sed '/^$/d' | sort -u | tr '\n' ' ')"
    if [ -z "${ids// /}" ]; then
        say "no running $BACKEND_NAME jobs of $ME"
        return 0
    fi
    say "cancelling backend job(s) $ids (each leaves the gateway before its server stops)"
    # shellcheck disable=SC2086  # one argument per job id
    scancel $ids
    wait_gone "$ids" "$BACKEND_DIR" backend || return 1
    say "backend jobs ended and deregistered"
}

# Wait (bounded by START_WAIT) until job ID has N registrations.
wait_registered() {
    local id="$1" n="$2" deadline=$((SECONDS + START_WAIT)) raw count state
    [ "$START_WAIT" -gt 0 ] || return 0
    say "waiting up to ${START_WAIT}s for $n instance(s) to register in $REGISTRY ..."
    while :; do
        raw="$(squeue -h -r -j "$id" -o '%i %T' 2>/dev/null || true)"
        count=0
        while read -r rid state; do
            [ -n "${rid:-}" ] || continue
            if [ -f "$REGISTRY/$rid.endpoint" ]; then count=$((count + 1)); fi
        done <<<"$raw"
        if [ "$count" -ge "$n" ]; then
            say "$count instance(s) registered:"
            while read -r rid state; do
                if [ -f "$REGISTRY/$rid.endpoint" ]; then say "  $(reg_endpoint "$REGISTRY/$rid.endpoint")  (job $rid)"; fi
            done <<<"$raw"
            return 0
        fi
        if [ -z "$raw" ]; then
            warn "job $id is no longer in the queue and did not register: see '$PROG logs $id'"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "not all registered yet ($count/$n; job states: $(awk '{print $2}' <<<"$raw" | sort | uniq -c | tr -s ' \n' ' '))"
            say "pending jobs wait for resources: '$PROG status' shows where they are"
            return 0
        fi
        sleep 2
    done
}

cmd_status() {
    say "== SLURM jobs of $ME named $JOB_NAMES"
    if ! command -v squeue >/dev/null 2>&1; then
        say "   (squeue not found: not on a SLURM node?)"
    else
        local jobs
        if ! jobs="$(our_jobs)"; then
            say "   (squeue failed: is slurmctld reachable? SLURM_CONF?)"
        elif [ -z "$jobs" ]; then
            say "   none"
        else
            printf '   %-14s %-22s %-10s %-12s %s\n' JOB NAME STATE TIME 'NODE/REASON'
            while IFS='|' read -r _ jid name state time where; do
                printf '   %-14s %-22s %-10s %-12s %s\n' "$jid" "$name" "$state" "$time" "$where"
            done <<<"$jobs"
            local nodes
            nodes="$(awk -F'|' '$4 == "RUNNING" {print $6}' <<<"$jobs" | sort -u | paste -sd, -)"
            say "   nodes: ${nodes:-none yet}"
        fi
    fi
    say "== Registered endpoints ($REGISTRY)"
    local regs f ep job n=0 healthy=0 health
    regs="$(registrations)"
    if [ -z "$regs" ]; then
        say "   none"
        return 0
    fi
    printf '   %-28s %-10s %s\n' ENDPOINT JOB HEALTH
    while read -r f; do
        ep="$(reg_endpoint "$f")"
        job="$(reg_job "$f")"
        n=$((n + 1))
        if ! job_alive "$job"; then
            health="stale: job not in the queue (removed by '$PROG stop')"
        else
            health="$(probe "$ep")"
            case "$health" in healthy*) healthy=$((healthy + 1)) ;; esac
        fi
        printf '   %-28s %-10s %s\n' "$ep" "$job" "$health"
    done <<<"$regs"
    say "   $healthy of $n healthy"
}

# The config generation an endpoint serves (from /health/readiness), or "?".
generation_of() {
    local body
    body="$(curl -s -m 3 "http://$1/health/readiness" 2>/dev/null || true)"
    grep -o '"config_generation":[0-9]*' <<<"$body" | cut -d: -f2 | head -n 1 | grep . || echo "?"
}

cmd_reload() {
    need squeue "squeue lists the jobs"
    need scancel "scancel sends the signal"
    local jobs ids
    jobs="$(our_jobs)" || die "squeue failed: cannot list the jobs to reload (is slurmctld reachable?)"
    ids="$(awk -F'|' '$4 == "RUNNING" {print $2}' <<<"$jobs" | sort -u | tr '\n' ' ')"
    [ -n "${ids// /}" ] || die "no running $JOB_NAMES jobs of $ME to reload"
    # Before: each registered endpoint's generation, to tell when it has reloaded.
    local f ep before=() eps=()
    while read -r f; do
        [ -n "$f" ] || continue
        job_alive "$(reg_job "$f")" || continue
        ep="$(reg_endpoint "$f")"
        eps+=("$ep")
        before+=("$(generation_of "$ep")")
    done <<<"$(registrations)"
    say "asking job(s) $ids to reload their config (SIGHUP to each job's script, which passes it on)"
    # shellcheck disable=SC2086  # one argument per job id
    scancel --batch --signal=HUP $ids || die "scancel --signal=HUP failed"
    local i now deadline=$((SECONDS + 20)) pending
    while :; do
        pending=0
        for i in "${!eps[@]}"; do
            now="$(generation_of "${eps[$i]}")"
            if [ "$now" = "?" ] || [ "$now" = "${before[$i]}" ]; then pending=$((pending + 1)); fi
        done
        [ "$pending" -eq 0 ] || [ "$SECONDS" -ge "$deadline" ] && break
        sleep 1
    done
    for i in "${!eps[@]}"; do
        now="$(generation_of "${eps[$i]}")"
        if [ "$now" != "?" ] && [ "$now" != "${before[$i]}" ]; then
            say "   ${eps[$i]}: config generation ${before[$i]} -> $now"
        else
            warn "${eps[$i]}: still on generation ${before[$i]} (an invalid config is refused: see '$PROG logs')"
        fi
    done
    [ "$pending" -eq 0 ] || exit 1
}

cmd_endpoints() {
    local f
    while read -r f; do
        [ -n "$f" ] || continue
        if job_alive "$(reg_job "$f")"; then printf '%s\n' "$(reg_endpoint "$f")"; fi
    done <<<"$(registrations)"
}

# Log files of a job (raw or array job id), from scontrol, else from the log directory.
log_files() {
    local id="$1" files=""
    if command -v scontrol >/dev/null 2>&1; then
        files="$(scontrol show job -o "$id" 2>/dev/null | tr ' ' '\n' | sed -n 's/^Std\(Out\|Err\)=//p' | sort -u || true)"
    fi
    if [ -z "$files" ] && [ -d "$LOG_DIR" ]; then
        files="$(find "$LOG_DIR" -maxdepth 1 -type f \( -name "*_${id}.out" -o -name "*_${id}.err" \
            -o -name "*_${id}_*.out" -o -name "*_${id}_*.err" \) | sort)"
    fi
    printf '%s\n' "$files"
}

cmd_logs() {
    local id="" follow=0 arg
    for arg in "$@"; do
        case "$arg" in
            -f | --follow) follow=1 ;;
            *) id="$arg" ;;
        esac
    done
    if [ -z "$id" ]; then
        id="$( { our_jobs || true; } | cut -d'|' -f1 | sort -n | tail -n 1)"
    fi
    if [ -z "$id" ] && [ -d "$LOG_DIR" ]; then
        # Newest log file of this tool: <name>_<jobid>[_<task>].out
        local newest
        newest="$(find "$LOG_DIR" -maxdepth 1 -type f -name "$PREFIX-*.out" -printf '%T@ %f\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2)"
        id="$(sed -n 's/^[^_]*_\([0-9]*\).*/\1/p' <<<"$newest")"
    fi
    [ -n "$id" ] || die "no job found (give a JOBID; logs are in $LOG_DIR)"
    local files=() f
    while read -r f; do
        if [ -n "$f" ] && [ -f "$f" ]; then files+=("$f"); fi
    done <<<"$(log_files "$id")"
    [ "${#files[@]}" -gt 0 ] || die "no log files for job $id (in $LOG_DIR, or scontrol show job $id)"
    if [ "$follow" = 1 ]; then
        exec tail -n 20 -f "${files[@]}"
    fi
    for f in "${files[@]}"; do
        say "==> $f <=="
        tail -n "${SWITCHYARD_LOG_LINES:-50}" "$f"
    done
}

# Remove registrations whose job SLURM no longer knows.
remove_stale() {
    local f removed=0
    while read -r f; do
        [ -n "$f" ] || continue
        if ! job_alive "$(reg_job "$f")"; then
            say "removing stale registration $(basename "$f") ($(reg_endpoint "$f" 2>/dev/null || true))"
            rm -f "$f"
            removed=$((removed + 1))
        fi
    done <<<"$(registrations)"
    return 0
}

# wait_gone IDS DIR EXT: until the cancelled jobs IDS have left the queue and removed their
# registrations DIR/<id>.EXT; false (and a warning) after STOP_TIMEOUT seconds.
wait_gone() {
    local ids="$1" dir="$2" ext="$3" deadline=$((SECONDS + STOP_TIMEOUT)) left regs id
    while :; do
        left="$(squeue -h -r -u "$ME" -o %i 2>/dev/null | grep -Fx -f <(tr ' ' '\n' <<<"$ids" | sed '/^$/d') || true)"
        regs=0
        for id in $ids; do
            if [ -f "$dir/$id.$ext" ]; then regs=$((regs + 1)); fi
        done
        if [ -z "$left" ] && [ "$regs" -eq 0 ]; then return 0; fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            warn "after ${STOP_TIMEOUT}s: still in the queue: ${left:-none}; registrations left: $regs"
            return 1
        fi
        sleep 1
    done
}

cmd_stop() {
    need squeue "squeue lists the jobs"
    local jobs ids
    jobs="$(our_jobs)" || die "squeue failed: cannot list the jobs to stop (is slurmctld reachable?)"
    ids="$(cut -d'|' -f2 <<<"$jobs" | sed '/^$/d' | sort -u | tr '\n' ' ')"
    if [ -z "${ids// /}" ]; then
        say "no running $JOB_NAMES jobs of $ME"
    else
        say "cancelling job(s) $ids"
        # shellcheck disable=SC2086  # one argument per job id
        scancel $ids
        wait_gone "$ids" "$REGISTRY" endpoint || true
        say "jobs ended"
    fi
    ALIVE_LOADED=0
    remove_stale
    local n
    n="$(registrations | wc -l)"
    say "registered endpoints left: $n"
}

cmd_restart() {
    local jobs mode=""
    jobs="$(our_jobs)" || die "squeue failed: cannot tell which jobs to restart"
    if grep -q "|$PREFIX-array|" <<<"$jobs"; then
        mode="array $(grep -c "|$PREFIX-array|" <<<"$jobs")"
    elif grep -q "|$PREFIX-direct|" <<<"$jobs"; then
        mode="direct"
    elif grep -q "|$PREFIX-container|" <<<"$jobs"; then
        mode="container"
    elif [ -r "$STATE_DIR/last_start" ]; then
        mode="$(head -n 1 "$STATE_DIR/last_start")"
    fi
    mode="${mode:-container}"
    cmd_stop
    # shellcheck disable=SC2086  # "array N" is two arguments
    start_jobs $mode
}

render_nginx() {
    local max_fails="${SWITCHYARD_NGINX_MAX_FAILS:-3}" fail_timeout="${SWITCHYARD_NGINX_FAIL_TIMEOUT:-30s}"
    local f ep job servers=() skipped=0
    while read -r f; do
        [ -n "$f" ] || continue
        ep="$(reg_endpoint "$f")"
        job="$(reg_job "$f")"
        if ! job_alive "$job"; then
            warn "skipping $ep: job $job is not in the queue (stale registration)"
            skipped=$((skipped + 1))
            continue
        fi
        case "$ep" in *:[0-9]*) servers+=("$ep") ;; *) warn "skipping malformed registration $f" ;; esac
    done <<<"$(registrations)"
    [ "${#servers[@]}" -gt 0 ] || die "no registered endpoints in $REGISTRY (start some: $PROG start-array N)"
    printf '# Switchyard instances registered in %s, written by %s render-nginx\n' "$REGISTRY" "$PROG"
    printf '# on %s (%d server(s)). Included by nginx.conf inside upstream switchyard_backend.\n' "$(date '+%Y-%m-%d %H:%M:%S')" "${#servers[@]}"
    for ep in "${servers[@]}"; do
        printf 'server %s max_fails=%s fail_timeout=%s;\n' "$ep" "$max_fails" "$fail_timeout"
    done
}

# nginx/nginx.conf made runnable from DIR by a normal user: listen on SWITCHYARD_NGINX_LISTEN
# (default 8080), access log and temp files in DIR (pid and error log go on the command line).
standalone_nginx_conf() {
    local dir="$1" listen="${SWITCHYARD_NGINX_LISTEN:-8080}" d temps=""
    mkdir -p "$dir/tmp"
    for d in client_body proxy fastcgi uwsgi scgi; do temps="$temps ${d}_temp_path $dir/tmp/$d;"; done
    sed -e "s|listen 80 default_server;|listen $listen default_server;|" \
        -e "s|access_log /var/log/nginx/access.log|access_log $dir/access.log|" \
        -e "s|^http {|http {\n   $temps|" \
        "$SWITCHYARD_HOME/nginx/nginx.conf" >"$dir/nginx.conf"
    grep -q "listen $listen default_server;" "$dir/nginx.conf" \
        || die "nginx/nginx.conf has no 'listen 80 default_server;' line to adapt"
}

cmd_render_nginx() {
    local target="${1:-}" content
    content="$(render_nginx)" || exit 1
    if [ -z "$target" ] || [ "$target" = - ]; then
        printf '%s\n' "$content"
        return 0
    fi
    local dir=""
    case "$target" in */) dir="${target%/}" ;; esac
    if [ -z "$dir" ] && [ -d "$target" ]; then dir="$target"; fi
    if [ -n "$dir" ]; then
        mkdir -p "$dir"
        dir="$(cd "$dir" && pwd)"
        if [ ! -f "$dir/nginx.conf" ]; then standalone_nginx_conf "$dir"; fi
        target="$dir/upstreams.conf"
    fi
    printf '%s\n' "$content" >"$target.tmp.$$"
    mv -f "$target.tmp.$$" "$target"
    say "wrote $target ($(grep -c '^server ' "$target") server(s))" >&2
    if [ -n "$dir" ]; then
        local run="nginx -p $dir/ -c $dir/nginx.conf -e $dir/error.log -g 'pid $dir/nginx.pid;'"
        say "start nginx:  $run" >&2
        say "after re-rendering:  $run -s reload      stop:  $run -s quit" >&2
    fi
}

main() {
    local cmd="${1:-help}"
    if [ "$#" -gt 0 ]; then shift; fi
    case "$cmd" in
        start) start_jobs container ;;
        start-direct) start_jobs direct ;;
        start-array) start_jobs array "${1:-}" ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        stop) cmd_stop ;;
        restart) cmd_restart ;;
        reload) cmd_reload ;;
        start-backends) cmd_start_backends "${1:-}" ;;
        backends) cmd_backends ;;
        stop-backends) cmd_stop_backends ;;
        endpoints) cmd_endpoints ;;
        render-nginx) cmd_render_nginx "${1:-}" ;;
        help | -h | --help) usage ;;
        *) usage >&2; die "unknown command: $cmd" ;;
    esac
}

main "$@"
