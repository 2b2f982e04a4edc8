#!/usr/bin/env bash
# Usage: delete-job.sh JOB_ID   — deletes a finished job and its notes.
source "$(dirname "$0")/_env.sh"
call -d "{\"job_id\": \"${1:?usage: delete-job.sh JOB_ID}\"}" "$ADDR" videojobs.v1.JobService/DeleteJob
