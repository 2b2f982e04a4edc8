#!/usr/bin/env bash
# Usage: retry-job.sh JOB_ID   — queues a FAILED or CANCELLED job again.
source "$(dirname "$0")/_env.sh"
call -d "{\"job_id\": \"${1:?usage: retry-job.sh JOB_ID}\"}" "$ADDR" videojobs.v1.JobService/RetryJob
