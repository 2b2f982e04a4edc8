#!/usr/bin/env bash
# Usage: cancel-job.sh JOB_ID   — cancels a waiting or running job (kills the program).
source "$(dirname "$0")/_env.sh"
call -d "{\"job_id\": \"${1:?usage: cancel-job.sh JOB_ID}\"}" "$ADDR" videojobs.v1.JobService/CancelJob
