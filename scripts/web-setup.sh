#!/usr/bin/env bash
# Prepares the gRPC-web and console tests (tests/grpc_web.rs,
# tests/console.rs) and the console's build (scripts/console-check.sh):
# installs the npm client (web/node_modules, from web/package-lock.json) and
# the console's tools (web/console/node_modules: buf, protoc-gen-es, Vite,
# TypeScript, playwright-core) when missing or older than their lock files,
# and Debian's chromium (the headless browser test drives
# /usr/bin/chromium with playwright-core; no browser download) when missing.
# Needs Node.js 20+ (global fetch).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web-setup: node and npm (Node.js 20+) are needed for tests/grpc_web.rs" >&2
  exit 1
fi
for dir in web web/console; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "web-setup: npm ci --prefix $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
if [ ! -x /usr/bin/chromium ]; then
  echo "web-setup: installing chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
