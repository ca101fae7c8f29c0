#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests (real processes on
# loopback, the official OpenAI Python SDK as a client). Installs the Python client it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

python_ok() { python3 -c 'import openai' >/dev/null 2>&1; }
if ! python_ok; then
    echo "tests/run.sh: installing the OpenAI Python SDK (pip install openai)"
    python3 -m pip install --quiet openai 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages openai || true
fi
if ! python_ok; then
    echo "tests/run.sh: the OpenAI Python SDK is required (python3 -m pip install openai)" >&2
    exit 1
fi

cargo fmt --all --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all --locked
