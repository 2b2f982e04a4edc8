#!/usr/bin/env bash
# The console's benchmark (not a test): prints a table of the bundle's
# gzipped size, the time to 1,000 job rows in headless Chromium, and the
# frames dropped while those 1,000 jobs update live. Builds videojobs
# (release unless --debug) and starts its own server in a scratch directory.
# Needs web/console/node_modules and /usr/bin/chromium (scripts/web-setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
if [ "${1:-}" = "--debug" ]; then profile=debug; shift; fi
if [ "$profile" = release ]; then cargo build --release --bins; else cargo build --bins; fi
node web/console/bench/console-bench.mjs "$PWD/target/$profile/videojobs" "${1:-1000}"
