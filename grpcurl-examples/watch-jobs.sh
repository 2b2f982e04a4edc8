#!/usr/bin/env bash
# Usage: watch-jobs.sh [JOB_ID...]   — streams events live; no ids = all your jobs.
# Waiting jobs also get ESTIMATE events (no job; their place in line and
# estimated start and finish) when those move.
# Named jobs start with a SNAPSHOT of where they stand. Ctrl-C to stop.
source "$(dirname "$0")/_env.sh"
ids=$(printf '"%s",' "$@"); ids="[${ids%,}]"; [ $# -eq 0 ] && ids="[]"
call -d "{\"job_ids\": $ids, \"estimates\": true}" "$ADDR" videojobs.v1.JobService/WatchJobs
