#!/usr/bin/env bash
# Usage: get-note.sh NOTE_ID   — the note's markdown and rendered HTML.
source "$(dirname "$0")/_env.sh"
call -d "{\"note_id\": \"${1:?usage: get-note.sh NOTE_ID}\"}" "$ADDR" videojobs.v1.NoteService/GetNote
