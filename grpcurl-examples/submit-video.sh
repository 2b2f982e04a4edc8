#!/usr/bin/env bash
# Usage: submit-video.sh URL [SUBJECT]   — queues a video, prints the job.
source "$(dirname "$0")/_env.sh"
url="${1:?usage: submit-video.sh URL [SUBJECT]}"
subject="${2:-}"
call -d "$(printf '{"url": "%s", "subject": "%s"}' "$url" "$subject")" "$ADDR" videojobs.v1.JobService/SubmitVideo
