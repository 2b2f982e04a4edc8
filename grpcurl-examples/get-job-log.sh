#!/usr/bin/env bash
# Usage: get-job-log.sh JOB_ID [ATTEMPT] [AFTER_LINE] [PAGE_SIZE]
# A page of what the program printed in one attempt (0 or none = the latest);
# pass the answer's nextAfterLine as AFTER_LINE for the next page.
source "$(dirname "$0")/_env.sh"
job="${1:?usage: get-job-log.sh JOB_ID [ATTEMPT] [AFTER_LINE] [PAGE_SIZE]}"
call -d "{\"job_id\": \"$job\", \"attempt\": ${2:-0}, \"after_line\": ${3:-0}, \"page_size\": ${4:-0}}" \
  "$ADDR" videojobs.v1.JobService/GetJobLog
