#!/usr/bin/env bash
# Usage: reprocess-job.sh JOB_ID [SUBJECT]   — runs a COMPLETED or FAILED job
# again (with another subject if given); its notes are replaced once the new
# ones are stored.
source "$(dirname "$0")/_env.sh"
body=$(python3 -c '
import json, sys
body = {"job_id": sys.argv[1]}
if sys.argv[2]:
    body["subject"] = sys.argv[2]
print(json.dumps(body))' "${1:?usage: reprocess-job.sh JOB_ID [SUBJECT]}" "${2:-}")
call -d "$body" "$ADDR" videojobs.v1.JobService/ReprocessJob
