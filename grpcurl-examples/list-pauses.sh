#!/usr/bin/env bash
# Usage: list-pauses.sh   — the pauses in force that hold your work back
# (yours, your batches', everyone's); an admin token lists every pause.
source "$(dirname "$0")/_env.sh"
call -d '{}' "$ADDR" videojobs.v1.JobService/ListPauses
