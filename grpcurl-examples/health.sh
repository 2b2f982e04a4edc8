#!/usr/bin/env bash
# Usage: health.sh [SERVICE]   — grpc.health.v1 check; needs no token.
source "$(dirname "$0")/_env.sh"
grpcurl -plaintext -d "{\"service\": \"${1:-}\"}" "$ADDR" grpc.health.v1.Health/Check
