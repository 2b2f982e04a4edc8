#!/usr/bin/env bash
# Usage: watch-job-logs.sh JOB_ID [ATTEMPT] [AFTER_LINE]
# Replays one attempt's output (0 or none = the latest), then follows it live
# from whichever node runs it; ends when the attempt ends.
source "$(dirname "$0")/_env.sh"
job="${1:?usage: watch-job-logs.sh JOB_ID [ATTEMPT] [AFTER_LINE]}"
call -d "{\"job_id\": \"$job\", \"attempt\": ${2:-0}, \"after_line\": ${3:-0}}" \
  "$ADDR" videojobs.v1.JobService/WatchJobLogs
