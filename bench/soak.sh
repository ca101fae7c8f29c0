#!/usr/bin/env bash
# Soak, one command: bench/soak.sh. The release gateway for SOAK_SECONDS (default 600) under
# mixed traffic (streams, cache hits and misses through a real redis-server, embeddings, bad
# requests); RSS and open descriptors must stay flat and no valid request may fail.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in python3 redis-server; do
    command -v "$tool" >/dev/null || { echo "soak: $tool is required (apt-get install redis-server)" >&2; exit 1; }
done
cargo build --release --quiet
exec python3 bench/soak.py "$PWD/target/release/switchyard"
