#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (real processes on
# loopback, the official OpenAI Python SDK as a client), then the deployment checks (shellcheck,
# compose/Dockerfile/nginx, a one-node SLURM). Installs the Python packages it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

python_ok() { python3 -c "import openai, anthropic, prometheus_client, selenium, opentelemetry.proto" >/dev/null 2>&1; }
if ! python_ok; then
    echo "tests/run.sh: installing the OpenAI and Anthropic Python SDKs, prometheus_client, selenium and opentelemetry-proto (pip install openai anthropic prometheus_client selenium opentelemetry-proto)"
    python3 -m pip install --quiet openai anthropic prometheus_client selenium opentelemetry-proto 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages openai anthropic prometheus_client selenium opentelemetry-proto || true
fi
if ! python_ok; then
    echo "tests/run.sh: the OpenAI and Anthropic Python SDKs, prometheus_client, selenium and opentelemetry-proto are required (python3 -m pip install openai anthropic prometheus_client selenium opentelemetry-proto)" >&2
    exit 1
fi
yaml_ok() { python3 -c 'import yaml' >/dev/null 2>&1; }
if ! yaml_ok; then
    echo "tests/run.sh: installing PyYAML (pip install pyyaml)"
    python3 -m pip install --quiet pyyaml 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages pyyaml || true
fi
if ! yaml_ok; then
    echo "tests/run.sh: PyYAML is required (python3 -m pip install pyyaml)" >&2
    exit 1
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --all --locked

# The release binary (panic = "unwind", as shipped) against thousands of malformed and extreme
# requests and a misbehaving upstream: it must live, and answer every one with JSON, no key.
cargo build --release --locked
python3 tests/fuzz_http.py target/release/switchyard --requests 4000

# Deployment files (deploy/, nginx/, slurm/): every shell script passes shellcheck; the compose
# file, Dockerfile and nginx.conf hold together (nginx -t); the SLURM job array on a real
# one-node SLURM (slurm-wlm, munge: installed by .ci/run; skipped loudly without them unless CI).
if command -v shellcheck >/dev/null 2>&1; then
    mapfile -t scripts < <({ find slurm tests deploy bench .ci -type f \( -name '*.sh' -o -name '*.slurm' \) \
        2>/dev/null || true; echo .ci/run; } | sort -u)
    shellcheck "${scripts[@]}"
    echo "tests/run.sh: shellcheck clean: ${scripts[*]}"
elif [ "${CI:-}" = true ]; then
    echo "tests/run.sh: shellcheck is required (apt-get install shellcheck)" >&2
    exit 1
else
    echo "tests/run.sh: *** SKIP: shellcheck is not installed (apt-get install shellcheck) ***" >&2
fi
python3 tests/deploy/check_compose.py
tests/slurm/one_node_test.sh target/debug/switchyard
