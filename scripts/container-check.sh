#!/usr/bin/env bash
# Builds the container image and runs it, on a machine with no image
# registry: the Dockerfile's prebuilt form (target `prebuilt`) on a Debian
# bookworm base made here with debootstrap from the machine's own apt source
# (minbase with ca-certificates and tini, built once and then reused), so the
# image's build runs without network. Then it starts the image with a JWT
# secret, waits for its HEALTHCHECK (`videojobs health`) to pass, submits a
# job with the repository's own client from the host, checks that the job
# ends COMPLETED with notes, and prints the image's size. The container is
# always removed; on any failure its logs are printed.
#
#   scripts/container-check.sh              binaries from target/debug (cargo test built them)
#   scripts/container-check.sh DIR          binaries from DIR
#   scripts/container-check.sh --release    cargo build --release first, binaries from target/release
#
# Installs podman, runc and debootstrap with apt-get when missing. Needs root
# (or sudo) for debootstrap and podman. Uses runc, not crun, and a private
# containers.conf with no default ulimits (README: The container image).
# VIDEOJOBS_JWT_SECRET (at least 16 characters) is used when set, otherwise
# one is generated. VIDEOJOBS_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

usage() { echo "usage: $0 [--release | BINARY_DIR]" >&2; exit 2; }
bin_dir=
release=false
case "${1:-}" in
  --release) release=true ;;
  -h | --help) usage ;;
  -*) usage ;;
  "") ;;
  *) bin_dir=$(cd "$1" && pwd) ;;
esac
[ $# -le 1 ] || usage
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
if $release; then
  cargo build --release --bins
  bin_dir=$target_dir/release
fi
bin_dir=${bin_dir:-$target_dir/debug}
binaries=(videojobs videojobs-keeper study-buddy-standin)
for binary in "${binaries[@]}"; do
  [ -x "$bin_dir/$binary" ] || { echo "container-check: $bin_dir/$binary is missing (cargo build --bins)" >&2; exit 1; }
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "container-check: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

started=$SECONDS
base=localhost/videojobs-base:bookworm
image=localhost/videojobs:local
name=videojobs-check-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/videojobs-container.XXXXXX")
runc=$(command -v runc)
# crun (podman's default) cannot set the rlimits here; runc with no default
# ulimits runs the image.
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
# Every podman and client call has a time limit, so nothing can hang the check.
podman_within() {
  local limit=$1
  shift
  as_root timeout "$limit" env CONTAINERS_CONF="$work/containers.conf" podman --runtime "$runc" "$@"
}
pm() { podman_within 900 "$@"; }
container_started=false

cleanup() {
  local status=$?
  if $container_started; then
    if [ "$status" != 0 ]; then
      echo "container-check: FAILED; the container's state and logs:" >&2
      pm inspect --format 'state: {{.State.Status}}, exit code {{.State.ExitCode}}, health {{.State.Health.Status}}' "$name" >&2 || true
      pm logs --tail 200 "$name" >&2 || true
    fi
    pm rm --force --time 10 "$name" >/dev/null 2>&1 || true
  fi
  # --one-file-system: never into anything a failed debootstrap left mounted.
  as_root rm -rf --one-file-system "$work"
  exit "$status"
}
trap cleanup EXIT
fail() { echo "container-check: $*" >&2; exit 1; }
show_and_fail() { local log=$1; shift; tail -n 40 "$log" >&2; fail "$@"; }

# The Debian mirror the machine's own apt uses for bookworm (one-line or
# deb822 sources), else deb.debian.org.
debian_mirror() {
  local mirror=${VIDEOJOBS_DEBIAN_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -e 's/#.*//' -e 's/\[[^]]*\]//' \
      | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
  fi
  if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk -v RS= '/(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/ && match($0, /(^|\n)URIs: *[^ \n]+/) {
          uri = substr($0, RSTART, RLENGTH); sub(/.*URIs: */, "", uri); print uri; exit }')
  fi
  echo "${mirror:-http://deb.debian.org/debian}"
}

if ! pm image exists "$base"; then
  mirror=$(debian_mirror)
  echo "container-check: making the base image $base (debootstrap minbase bookworm from $mirror)"
  as_root timeout 1800 debootstrap --variant=minbase --include=ca-certificates,tini bookworm "$work/rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || show_and_fail "$work/debootstrap.log" "debootstrap failed"
  # The downloaded packages and the apt lists are not part of an image
  # (apt-get update brings the lists back).
  as_root tar -C "$work/rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' -c . \
    | pm import --message "debootstrap --variant=minbase --include=ca-certificates,tini bookworm $mirror" - "$base" \
      >"$work/import.log" 2>&1 || show_and_fail "$work/import.log" "podman import failed"
  as_root rm -rf --one-file-system "$work/rootfs"
fi

# The build context holds only the three binaries.
mkdir "$work/context"
for binary in "${binaries[@]}"; do cp "$bin_dir/$binary" "$work/context/"; done
previous=$(pm image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
echo "container-check: building $image from $bin_dir"
# --layers=false: a build leaves its image and no intermediate ones; the
# image it replaces is removed below.
pm build --network=none --format docker --layers=false \
  --target prebuilt --build-arg BASE="$base" \
  -f Dockerfile -t "$image" "$work/context" >"$work/build.log" 2>&1 \
  || show_and_fail "$work/build.log" "podman build failed"
current=$(pm image inspect --format '{{.Id}}' "$image")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  pm rmi "$previous" >/dev/null 2>&1 || true
fi
[ "$(pm image inspect --format '{{.Config.Healthcheck}}' "$image")" != "<nil>" ] \
  || fail "$image has no HEALTHCHECK (built without --format docker?)"

if [ -z "${VIDEOJOBS_JWT_SECRET:-}" ]; then
  VIDEOJOBS_JWT_SECRET=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
fi
export VIDEOJOBS_JWT_SECRET
# The secret reaches the container through a file, never a command line.
(umask 077 && printf 'VIDEOJOBS_JWT_SECRET=%s\n' "$VIDEOJOBS_JWT_SECRET" >"$work/env")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
container_started=true
pm run --detach --name "$name" --env-file "$work/env" -p "127.0.0.1:$port:50051" "$image" \
  >"$work/run.log" 2>&1 || show_and_fail "$work/run.log" "podman run failed"

# Podman has no systemd here to run the HEALTHCHECK on its interval; run it
# until it passes (it runs `videojobs health` inside the container).
deadline=$((SECONDS + 120))
until podman_within 30 healthcheck run "$name" >"$work/health.log" 2>&1; do
  [ "$(pm inspect --format '{{.State.Running}}' "$name")" = true ] || fail "the container stopped before it was healthy"
  [ "$SECONDS" -lt "$deadline" ] || show_and_fail "$work/health.log" "the health check did not pass within 120 s"
  sleep 1
done
echo "container-check: healthy on 127.0.0.1:$port ($((SECONDS - started)) s)"
[ "$(pm exec "$name" id -u)" = 10001 ] || fail "the node does not run as the videojobs user (uid 10001)"

client=$bin_dir/videojobs
export VIDEOJOBS_ADDR=http://127.0.0.1:$port
VIDEOJOBS_TOKEN=$("$client" token --user container-check)
export VIDEOJOBS_TOKEN
job=$(timeout 30 "$client" submit --json https://youtu.be/dQw4w9WgXcQ | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
# The job's state, its number of notes and its first note's id.
job_summary() {
  python3 -c 'import json, sys; j = json.load(sys.stdin); n = j["note_ids"]; print(j["state"], len(n), n[0] if n else "-")' <"$work/job.json"
}
deadline=$((SECONDS + 180))
while :; do
  timeout 30 "$client" jobs get --json "$job" >"$work/job.json"
  summary=$(job_summary)
  read -r state notes note <<<"$summary"
  case $state in
    COMPLETED) break ;;
    FAILED | CANCELLED) show_and_fail "$work/job.json" "job $job ended $state" ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || show_and_fail "$work/job.json" "job $job still $state after 180 s"
  sleep 0.5
done
[ "$notes" -gt 0 ] || show_and_fail "$work/job.json" "job $job COMPLETED without notes"
timeout 30 "$client" notes get "$note" >"$work/note.md"
[ -s "$work/note.md" ] || fail "note $note of job $job is empty"
echo "container-check: job $job COMPLETED with $notes notes (the first: $(head -n 1 "$work/note.md"))"

size=$(pm image inspect --format '{{.Size}}' "$image")
base_size=$(pm image inspect --format '{{.Size}}' "$base")
mb() { awk -v bytes="$1" 'BEGIN { printf "%.1f MB", bytes / 1e6 }'; }
echo "container-check: $image is $(mb "$size") ($(mb "$base_size") base + $(mb $((size - base_size))) from $bin_dir); passed in $((SECONDS - started)) s"
