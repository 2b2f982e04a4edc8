#!/usr/bin/env bash
# Usage: get-job.sh JOB_ID
source "$(dirname "$0")/_env.sh"
call -d "{\"job_id\": \"${1:?usage: get-job.sh JOB_ID}\"}" "$ADDR" videojobs.v1.JobService/GetJob
