#!/usr/bin/env bash
# Usage: list-services.sh [SERVICE]   — what reflection offers; needs no token.
source "$(dirname "$0")/_env.sh"
if [ $# -eq 0 ]; then grpcurl -plaintext "$ADDR" list; else grpcurl -plaintext "$ADDR" describe "$1"; fi
