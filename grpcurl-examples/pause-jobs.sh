#!/usr/bin/env bash
# Usage: pause-jobs.sh [BATCH_ID] [REASON]   — pauses a batch, or all your
# waiting work when BATCH_ID is empty: paused jobs do not start, running ones
# finish. Pausing twice answers the same pause. (An admin token may send
# {"everything": true} or {"user_id": "..."} instead.)
source "$(dirname "$0")/_env.sh"
body=$(python3 -c 'import json,sys; print(json.dumps({"batch_id": sys.argv[1], "reason": sys.argv[2]}))' "${1:-}" "${2:-}")
call -d "$body" "$ADDR" videojobs.v1.JobService/PauseJobs
