#!/usr/bin/env bash
# Prepares the gRPC-web tests (tests/grpc_web.rs): installs the npm client
# (web/node_modules, from web/package-lock.json) when it is missing or older
# than the lock file, and Debian's chromium (the headless browser test drives
# /usr/bin/chromium with playwright-core; no browser download) when missing.
# Needs Node.js 20+ (global fetch).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web-setup: node and npm (Node.js 20+) are needed for tests/grpc_web.rs" >&2
  exit 1
fi
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "web-setup: npm ci --prefix web"
  npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "web-setup: installing chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
