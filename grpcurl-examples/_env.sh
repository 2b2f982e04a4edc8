# Shared settings for the examples; source it, don't run it.
#   VIDEOJOBS_ADDR   host:port of the server (default 127.0.0.1:50051)
#   VIDEOJOBS_TOKEN  bearer token; default: minted with `videojobs token` for $USER
#                    from the same data directory the server uses.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ADDR="${VIDEOJOBS_ADDR:-127.0.0.1:50051}"
if [ -z "${VIDEOJOBS_TOKEN:-}" ]; then
  bin="${VIDEOJOBS_BIN:-$here/../target/release/videojobs}"
  [ -x "$bin" ] || bin="$here/../target/debug/videojobs"
  VIDEOJOBS_TOKEN="$("$bin" token --user "${VIDEOJOBS_USER:-${USER:-demo}}")"
fi
AUTH=(-H "authorization: Bearer $VIDEOJOBS_TOKEN")
# The server offers reflection (v1 and v1alpha), so no proto files are needed.
call() { grpcurl -plaintext "${AUTH[@]}" "$@"; }
