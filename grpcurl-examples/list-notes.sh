#!/usr/bin/env bash
# Usage: list-notes.sh [JOB_ID]
source "$(dirname "$0")/_env.sh"
call -d "{\"job_id\": \"${1:-}\", \"page_size\": 20}" "$ADDR" videojobs.v1.NoteService/ListNotes
