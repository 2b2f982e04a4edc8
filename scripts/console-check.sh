#!/usr/bin/env bash
# The console's bundle is committed (web/console/dist, embedded in the
# binary, so `cargo build` needs no Node). This rebuilds it from source —
# the clients generated from proto/ by buf + protoc-gen-es, a type check,
# the Vite build — into a scratch directory and fails if the generated code
# or the bundle differs from what is committed. `--write` updates the
# committed copies instead (run it after changing web/console or proto/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x web/console/node_modules/.bin/vite ] || [ web/console/package-lock.json -nt web/console/node_modules/.package-lock.json ]; then
  npm ci --prefix web/console --no-audit --no-fund --loglevel=error
fi
cd web/console
export PATH="$PWD/node_modules/.bin:$PATH"
if [ "${1:-}" = "--write" ]; then
  buf generate ../../proto --template buf.gen.yaml
  tsc --noEmit -p .
  vite build --logLevel warn
  exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
buf generate ../../proto --template buf.gen.yaml -o "$scratch"
if ! diff -r "$scratch/src/gen" src/gen >"$scratch/gen.diff"; then
  head -40 "$scratch/gen.diff" >&2
  echo "console-check: web/console/src/gen is not what proto/ generates; run scripts/console-check.sh --write" >&2
  exit 1
fi
tsc --noEmit -p .
vite build --logLevel warn --outDir "$scratch/dist" --emptyOutDir
if ! diff -r "$scratch/dist" dist >"$scratch/dist.diff"; then
  head -20 "$scratch/dist.diff" >&2
  echo "console-check: web/console/dist is not what the sources build; run scripts/console-check.sh --write" >&2
  exit 1
fi
echo "console-check: the committed bundle is what the sources build ($(du -sh dist | cut -f1))"
