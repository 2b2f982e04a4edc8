#!/usr/bin/env bash
# The benchmark: builds the release binaries, makes sure PostgreSQL and Redis
# are up (and pgbench, Node.js and npm are installed), then runs
# videojobs-bench, which installs BullMQ with npm into a scratch directory and
# prints one table. Pass `--all` for the full run or `--quick` for CI's.
#   ./scripts/bench.sh --all [--out bench-results.md] [--scenario N ...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v pgbench >/dev/null || missing+=(postgresql-client)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release --bins
exec ./target/release/videojobs-bench "$@"
