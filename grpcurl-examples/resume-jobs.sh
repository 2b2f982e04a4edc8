#!/usr/bin/env bash
# Usage: resume-jobs.sh [BATCH_ID]   — ends the pause of a batch, or of all
# your work when BATCH_ID is empty; the jobs take their turn again.
source "$(dirname "$0")/_env.sh"
body=$(python3 -c 'import json,sys; print(json.dumps({"batch_id": sys.argv[1]}))' "${1:-}")
call -d "$body" "$ADDR" videojobs.v1.JobService/ResumeJobs
