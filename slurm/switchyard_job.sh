# shellcheck shell=bash
# The body of the Switchyard SLURM jobs, shared by start_proxy_direct.slurm,
# start_proxy.slurm and array_proxy.slurm (they source this file, then call
# `switchyard_job_main MODE`). Not meant to be run on its own.
#
# One job (or one array task) = one gateway instance:
#   1. load SWITCHYARD_ENV_FILE (API keys, REDIS_*), check the config;
#   2. start the gateway on SWITCHYARD_PORT, or on a free port of
#      SWITCHYARD_PORT_MIN..SWITCHYARD_PORT_MAX, in the background;
#   3. wait until its /health/readiness answers with this instance's id (so a port taken by
#      someone else at the same moment is never registered), then register it: a file
#      REGISTRY/<job>.endpoint holding "host:port", <job> as squeue's %i names it
#      (<job id>, or <array job id>_<task> for an array task);
#   4. wait. On SIGTERM/SIGINT (scancel, `#SBATCH --signal=B:TERM@N` before the time limit)
#      or when the gateway exits: remove the registration first, then let the gateway drain
#      for up to SWITCHYARD_GRACE_PERIOD seconds, and exit.
#
# Variables (environment; sbatch passes the submitting shell's environment to the job):
#   SWITCHYARD_HOME          repository checkout (default: found from the submit directory)
#   SWITCHYARD_BIN           gateway binary (default: `switchyard` on PATH, else
#                            $SWITCHYARD_HOME/target/release/switchyard)
#   SWITCHYARD_CONFIG        LiteLLM config.yaml (default: $SWITCHYARD_HOME/config/config.yaml);
#                            "builtin" (or empty) = the built-in quick-start config (mock models)
#   SWITCHYARD_ENV_FILE      KEY=VALUE file loaded before start (default: $SWITCHYARD_HOME/.env
#                            when it exists)
#   SWITCHYARD_HOST          address to bind (default 0.0.0.0: reachable from other nodes)
#   SWITCHYARD_ADVERTISE_HOST  host name written into the registration (default: the bind
#                            address when it is a specific one, else `hostname`)
#   SWITCHYARD_PORT          fixed port, or "auto" for a free one in the range below
#   SWITCHYARD_PORT_MIN/MAX  port range searched for a free port (default 4000..4999)
#   SWITCHYARD_GRACE_PERIOD  seconds in-flight requests may take after SIGTERM (default 25;
#                            keep it below the cluster's KillWait: `scontrol show config`)
#   SWITCHYARD_WORKERS       HTTP worker threads (default: SLURM_CPUS_PER_TASK)
#   SWITCHYARD_REGISTRY      directory of registrations, on a file system the login node
#                            sees too (default: $HOME/.switchyard/endpoints)
#   SWITCHYARD_START_TIMEOUT seconds to wait for the instance to answer (default 60)
#   SWITCHYARD_INSTANCE_PREFIX  instance ids are PREFIX<job>[_<task>]@host:port (default "slurm-")
#   Container jobs (start_proxy.slurm):
#   SWITCHYARD_RUNTIME       auto | apptainer | singularity | docker | compose (default auto:
#                            apptainer, then singularity, then docker)
#   SWITCHYARD_SIF           Apptainer/Singularity image (default $SWITCHYARD_HOME/switchyard.sif)
#   SWITCHYARD_IMAGE         Docker image (default switchyard:latest)
#   SWITCHYARD_CONTAINER_ARGS  extra arguments for `apptainer exec` / `docker run`
#   SWITCHYARD_COMPOSE_PORT  compose runtime: the port nginx publishes (default 80)

_sy_log() { printf '[switchyard-job %s] %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$*"; }
_sy_die() { _sy_log "ERROR: $*" >&2; exit 1; }

# GET http://HOSTPORT/PATH, headers and body on stdout; curl when there is one, else bash's
# /dev/tcp (plain HTTP/1.0).
_sy_http_get() {
    local hostport="$1" path="$2"
    if command -v curl >/dev/null 2>&1; then
        curl -s -i -m 3 "http://$hostport$path" 2>/dev/null
        return
    fi
    # shellcheck disable=SC2016  # expanded by the inner shell, from its arguments
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
        printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$2" "$1" >&3
        cat <&3' _ "$hostport" "$path" 2>/dev/null
}

# Is something listening on PORT at the address we check against?
_sy_port_in_use() {
    # shellcheck disable=SC2016  # expanded by the inner shell, from its arguments
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$_SY_CHECK_HOST" "$1" 2>/dev/null
}

_sy_resolve_settings() {
    # The checkout: explicit, else the submit directory or its parent (sbatch slurm/x.slurm
    # from the checkout, or from inside slurm/).
    if [ -z "${SWITCHYARD_HOME:-}" ]; then
        local d
        for d in "${SLURM_SUBMIT_DIR:-$PWD}" "${SLURM_SUBMIT_DIR:-$PWD}/.."; do
            if [ -f "$d/slurm/switchyard_job.sh" ]; then SWITCHYARD_HOME="$(cd "$d" && pwd)"; break; fi
        done
    fi
    SWITCHYARD_HOME="${SWITCHYARD_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}"

    if [ -n "${SWITCHYARD_ENV_FILE:-}" ]; then
        [ -r "$SWITCHYARD_ENV_FILE" ] || _sy_die "SWITCHYARD_ENV_FILE=$SWITCHYARD_ENV_FILE is not readable"
    elif [ -r "$SWITCHYARD_HOME/.env" ]; then
        SWITCHYARD_ENV_FILE="$SWITCHYARD_HOME/.env"
    fi
    if [ -n "${SWITCHYARD_ENV_FILE:-}" ]; then
        _sy_log "loading environment from $SWITCHYARD_ENV_FILE"
        set -a
        # shellcheck source=/dev/null
        . "$SWITCHYARD_ENV_FILE"
        set +a
    fi

    SY_CONFIG="${SWITCHYARD_CONFIG-$SWITCHYARD_HOME/config/config.yaml}"
    if [ "$SY_CONFIG" = "builtin" ]; then SY_CONFIG=""; fi
    if [ -n "$SY_CONFIG" ]; then
        [ -r "$SY_CONFIG" ] || _sy_die "config $SY_CONFIG not found (SWITCHYARD_CONFIG; \"builtin\" = quick-start config)"
        SY_CONFIG="$(cd "$(dirname "$SY_CONFIG")" && pwd)/$(basename "$SY_CONFIG")"
    fi

    SY_HOST="${SWITCHYARD_HOST:-0.0.0.0}"
    # Checks run against the bound address (loopback for a wildcard bind); the registration
    # names the bound address when it is a specific one, else this node's host name.
    case "$SY_HOST" in
        0.0.0.0 | "::" | "[::]") _SY_CHECK_HOST=127.0.0.1; SY_ADVERTISE="$(hostname)" ;;
        *) _SY_CHECK_HOST="$SY_HOST"; SY_ADVERTISE="$SY_HOST" ;;
    esac
    SY_ADVERTISE="${SWITCHYARD_ADVERTISE_HOST:-$SY_ADVERTISE}"
    SY_PORT_MIN="${SWITCHYARD_PORT_MIN:-4000}"
    SY_PORT_MAX="${SWITCHYARD_PORT_MAX:-4999}"
    SY_GRACE="${SWITCHYARD_GRACE_PERIOD:-25}"
    SY_WORKERS="${SWITCHYARD_WORKERS:-${SLURM_CPUS_PER_TASK:-}}"
    SY_REGISTRY="${SWITCHYARD_REGISTRY:-$HOME/.switchyard/endpoints}"
    SY_START_TIMEOUT="${SWITCHYARD_START_TIMEOUT:-60}"
    SY_JOB_ID="${SLURM_JOB_ID:-local-$$}"
    if [ -n "${SLURM_ARRAY_JOB_ID:-}" ]; then
        SY_JOB_LABEL="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
    else
        SY_JOB_LABEL="$SY_JOB_ID"
    fi
    # An id inherited from the submitting shell would be the same in every task: the
    # --instance-id flag names each instance instead.
    unset SWITCHYARD_INSTANCE_ID
}

_sy_find_binary() {
    if [ -n "${SWITCHYARD_BIN:-}" ]; then
        SY_BIN="$SWITCHYARD_BIN"
    elif command -v switchyard >/dev/null 2>&1; then
        SY_BIN="$(command -v switchyard)"
    else
        SY_BIN="$SWITCHYARD_HOME/target/release/switchyard"
    fi
    [ -x "$SY_BIN" ] || _sy_die "gateway binary $SY_BIN not found or not executable (set SWITCHYARD_BIN)"
}

# Gateway arguments for PORT (config path as the gateway process will see it).
_sy_gateway_args() {
    SY_ARGS=()
    if [ -n "$SY_CONFIG" ]; then SY_ARGS+=(--config "$SY_CONFIG"); fi
    SY_ARGS+=(--host "$SY_HOST" --port "$1" --grace-period "$SY_GRACE" --instance-id "$SY_INSTANCE_ID")
    if [ -n "$SY_WORKERS" ]; then SY_ARGS+=(--workers "$SY_WORKERS"); fi
}

_sy_pick_runtime() {
    SY_RUNTIME="${SWITCHYARD_RUNTIME:-auto}"
    if [ "$SY_RUNTIME" = auto ]; then
        local rt
        for rt in apptainer singularity docker; do
            if command -v "$rt" >/dev/null 2>&1; then SY_RUNTIME="$rt"; break; fi
        done
        [ "$SY_RUNTIME" != auto ] || _sy_die "no container runtime (apptainer, singularity, docker) on $(hostname); use start_proxy_direct.slurm"
    fi
    case "$SY_RUNTIME" in
        apptainer | singularity)
            SY_SIF="${SWITCHYARD_SIF:-$SWITCHYARD_HOME/switchyard.sif}"
            [ -r "$SY_SIF" ] || _sy_die "image $SY_SIF not found: build it with 'apptainer build switchyard.sif docker-daemon://switchyard:latest' (deploy/Dockerfile) or set SWITCHYARD_SIF"
            ;;
        docker | compose)
            command -v docker >/dev/null 2>&1 || _sy_die "docker not found on $(hostname)"
            ;;
        *) _sy_die "SWITCHYARD_RUNTIME=$SY_RUNTIME: expected auto, apptainer, singularity, docker or compose" ;;
    esac
}

# Start one gateway on PORT in the background; sets SY_CHILD.
_sy_launch() {
    local port="$1"
    SY_INSTANCE_ID="${SWITCHYARD_INSTANCE_PREFIX-slurm-}${SY_JOB_LABEL}@${SY_ADVERTISE}:${port}"
    _sy_gateway_args "$port"
    local extra=()
    if [ -n "${SWITCHYARD_CONTAINER_ARGS:-}" ]; then read -r -a extra <<<"$SWITCHYARD_CONTAINER_ARGS"; fi
    case "$SY_MODE" in
        direct)
            "$SY_BIN" "${SY_ARGS[@]}" &
            ;;
        container)
            case "$SY_RUNTIME" in
                apptainer | singularity)
                    # Host network (the port is the node's); the config's directory bound at
                    # the same path; the job's environment (keys) passes through.
                    local binds=()
                    if [ -n "$SY_CONFIG" ]; then binds=(--bind "$(dirname "$SY_CONFIG")"); fi
                    "$SY_RUNTIME" exec "${binds[@]}" "${extra[@]}" "$SY_SIF" switchyard "${SY_ARGS[@]}" &
                    ;;
                docker)
                    SY_CONTAINER="switchyard-${SY_JOB_LABEL}-${port}"
                    local envs=() name
                    while IFS= read -r name; do envs+=(-e "$name"); done < <(
                        compgen -e | grep -E '^(OPENAI|ANTHROPIC|GOOGLE|GEMINI|AZURE|REDIS|LITELLM|SGLANG|VLLM|SWITCHYARD_LOG|RUST_LOG)' || true)
                    local vols=()
                    if [ -n "$SY_CONFIG" ]; then vols=(-v "$(dirname "$SY_CONFIG"):$(dirname "$SY_CONFIG"):ro"); fi
                    docker run --rm --name "$SY_CONTAINER" --network host \
                        --user "$(id -u):$(id -g)" --stop-timeout "$((SY_GRACE + 5))" \
                        "${envs[@]}" "${vols[@]}" "${extra[@]}" \
                        "${SWITCHYARD_IMAGE:-switchyard:latest}" "${SY_ARGS[@]}" &
                    ;;
            esac
            ;;
    esac
    SY_CHILD=$!
}

# Wait until the instance on PORT answers as ours. 0: up; 1: the process exited; 2: timeout.
_sy_wait_up() {
    local port="$1" deadline=$((SECONDS + SY_START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! kill -0 "$SY_CHILD" 2>/dev/null; then return 1; fi
        if _sy_http_get "$_SY_CHECK_HOST:$port" /health/readiness | grep -qF "$SY_INSTANCE_ID"; then
            return 0
        fi
        sleep 0.5
    done
    return 2
}

_sy_register() {
    mkdir -p "$SY_REGISTRY"
    SY_REG_FILE="$SY_REGISTRY/$SY_JOB_LABEL.endpoint"
    printf '%s\n' "$SY_ENDPOINT" >"$SY_REG_FILE.tmp.$$"
    mv -f "$SY_REG_FILE.tmp.$$" "$SY_REG_FILE"
    _sy_log "registered $SY_ENDPOINT in $SY_REG_FILE"
}

_sy_deregister() {
    if [ -n "${SY_REG_FILE:-}" ]; then
        rm -f "$SY_REG_FILE"
        _sy_log "registration $SY_REG_FILE removed"
        SY_REG_FILE=""
    fi
}

_sy_stop_child() {
    [ -n "${SY_CHILD:-}" ] || return 0
    if kill -0 "$SY_CHILD" 2>/dev/null; then
        if [ -n "${SY_CONTAINER:-}" ]; then
            docker stop -t "$((SY_GRACE + 5))" "$SY_CONTAINER" >/dev/null 2>&1 || true
        elif [ "${SY_RUNTIME:-}" = compose ]; then
            "${SY_COMPOSE[@]}" down -t "$((SY_GRACE + 5))" || true
        else
            kill -TERM "$SY_CHILD" 2>/dev/null || true
        fi
    fi
    SY_CHILD_RC=0
    wait "$SY_CHILD" 2>/dev/null || SY_CHILD_RC=$?
    SY_CHILD=""
}

_sy_on_signal() {
    trap '' TERM INT
    _sy_log "received SIG$1: leaving the registry, draining for up to ${SY_GRACE}s"
    _sy_deregister
    _sy_stop_child
    _sy_log "gateway stopped (exit ${SY_CHILD_RC:-0})"
    exit 0
}

# SIGHUP (`manage_proxy.sh reload`): the gateway reads its config again; the job goes on.
_sy_on_hup() {
    _sy_log "received SIGHUP: asking the gateway to reload its config"
    if [ -n "${SY_CONTAINER:-}" ]; then
        docker kill -s HUP "$SY_CONTAINER" >/dev/null 2>&1 || true
    elif [ "${SY_RUNTIME:-}" = compose ]; then
        "${SY_COMPOSE[@]}" kill -s HUP >/dev/null 2>&1 || true
    elif [ -n "${SY_CHILD:-}" ]; then
        kill -HUP "$SY_CHILD" 2>/dev/null || true
    fi
}

_sy_on_exit() {
    _sy_deregister
    if [ -n "${SY_CHILD:-}" ] && kill -0 "$SY_CHILD" 2>/dev/null; then kill -TERM "$SY_CHILD" 2>/dev/null || true; fi
}

# Docker Compose on the node: the whole deploy/ stack (Redis, two gateways, nginx); nginx's
# port is registered.
_sy_run_compose() {
    if docker compose version >/dev/null 2>&1; then
        SY_COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        SY_COMPOSE=(docker-compose)
    else
        _sy_die "neither 'docker compose' nor 'docker-compose' is available"
    fi
    SY_COMPOSE+=(-p "switchyard-$SY_JOB_ID" -f "$SWITCHYARD_HOME/deploy/docker-compose.yml")
    local port="${SWITCHYARD_COMPOSE_PORT:-80}"
    _sy_log "starting the Docker Compose stack (${SY_COMPOSE[*]})"
    "${SY_COMPOSE[@]}" up &
    SY_CHILD=$!
    local deadline=$((SECONDS + SY_START_TIMEOUT + 120))
    until _sy_http_get "127.0.0.1:$port" /health/readiness | grep -q '^HTTP/[0-9.]* 200'; do
        kill -0 "$SY_CHILD" 2>/dev/null || _sy_die "docker compose exited"
        [ "$SECONDS" -lt "$deadline" ] || _sy_die "the stack did not answer on port $port"
        sleep 2
    done
    SY_ENDPOINT="$SY_ADVERTISE:$port"
}

# MODE: direct (the binary) or container (SWITCHYARD_RUNTIME). Fixed port for the single
# jobs unless SWITCHYARD_PORT=auto; array tasks pass "auto" as the default.
switchyard_job_main() {
    SY_MODE="$1"
    local default_port="${2:-4000}"
    _sy_resolve_settings
    trap '_sy_on_signal TERM' TERM
    trap '_sy_on_signal INT' INT
    trap _sy_on_hup HUP
    trap _sy_on_exit EXIT

    if [ "$SY_MODE" = container ]; then _sy_pick_runtime; fi
    if [ "$SY_MODE" = direct ]; then
        _sy_find_binary
        if [ -n "$SY_CONFIG" ]; then
            "$SY_BIN" check-config "$SY_CONFIG" >/dev/null || _sy_die "config check failed: '$SY_BIN check-config $SY_CONFIG' says why"
        fi
    fi
    _sy_log "job $SY_JOB_LABEL on $(hostname): mode=$SY_MODE${SY_RUNTIME:+ runtime=$SY_RUNTIME} config=${SY_CONFIG:-built-in quick start} registry=$SY_REGISTRY"

    if [ "${SY_RUNTIME:-}" = compose ]; then
        _sy_run_compose
    else
        local want="${SWITCHYARD_PORT:-$default_port}" candidates=() p span offset i
        if [ "$want" = auto ]; then
            span=$((SY_PORT_MAX - SY_PORT_MIN + 1))
            [ "$span" -gt 0 ] || _sy_die "empty port range $SY_PORT_MIN..$SY_PORT_MAX"
            # Array tasks start at different offsets so that they rarely race for one port
            # (a race is caught anyway: an instance is registered only once it answers with
            # its own id).
            offset=$(( ${SLURM_ARRAY_TASK_ID:-0} % span ))
            for ((i = 0; i < span; i++)); do candidates+=($((SY_PORT_MIN + (offset + i) % span))); done
        else
            candidates=("$want")
        fi
        local tries=0 up=""
        for p in "${candidates[@]}"; do
            if _sy_port_in_use "$p"; then continue; fi
            tries=$((tries + 1))
            [ "$tries" -le 5 ] || break
            _sy_launch "$p"
            _sy_log "starting instance $SY_INSTANCE_ID (pid $SY_CHILD)"
            local rc=0
            _sy_wait_up "$p" || rc=$?
            if [ "$rc" -eq 0 ]; then up="$p"; break; fi
            if [ "$rc" -eq 2 ]; then
                _sy_stop_child
                _sy_die "the gateway did not answer on port $p within ${SY_START_TIMEOUT}s"
            fi
            wait "$SY_CHILD" 2>/dev/null || true
            SY_CHILD=""
            _sy_log "the gateway exited while starting on port $p (port taken meanwhile?)"
        done
        if [ -z "$up" ]; then
            if [ "${#candidates[@]}" -eq 1 ]; then
                _sy_die "could not start on port ${candidates[0]} (in use? set SWITCHYARD_PORT=auto or another port)"
            fi
            _sy_die "could not start on a free port in $SY_PORT_MIN..$SY_PORT_MAX"
        fi
        SY_ENDPOINT="$SY_ADVERTISE:$up"
    fi
    _sy_register
    _sy_log "serving on http://$SY_ENDPOINT (from the login node: ssh -L 4000:$SY_ENDPOINT <login-node>)"

    # Wait for the gateway; a signal interrupts `wait` and runs its trap: TERM/INT end the job
    # (_sy_on_signal exits), HUP only forwards a reload, so wait again while the gateway runs.
    SY_CHILD_RC=0
    while :; do
        SY_CHILD_RC=0
        wait "$SY_CHILD" || SY_CHILD_RC=$?
        kill -0 "$SY_CHILD" 2>/dev/null || break
    done
    SY_CHILD=""
    _sy_deregister
    _sy_log "gateway exited with status $SY_CHILD_RC"
    exit "$SY_CHILD_RC"
}
