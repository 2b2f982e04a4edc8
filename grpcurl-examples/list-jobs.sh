#!/usr/bin/env bash
# Usage: list-jobs.sh [STATE] [PAGE_SIZE]   e.g. list-jobs.sh JOB_STATE_FAILED 10
source "$(dirname "$0")/_env.sh"
states="[]"; [ -n "${1:-}" ] && states="[\"$1\"]"
call -d "{\"states\": $states, \"page_size\": ${2:-20}}" "$ADDR" videojobs.v1.JobService/ListJobs
