#!/usr/bin/env bash
# Usage: health-tls.sh CA_PEM [CLIENT_CERT_PEM CLIENT_KEY_PEM] [SERVICE]
#   grpc.health.v1 check over TLS; needs no token. For a server started with
#   `videojobs serve --tls-cert … --tls-key …` (add the client certificate and
#   key when it also has `--tls-client-ca`, i.e. requires mutual TLS).
#   CA_PEM           the CA that signed the server's certificate
#   CLIENT_CERT_PEM  with CLIENT_KEY_PEM: the client identity to present
#   SERVICE          e.g. videojobs.v1.JobService; empty = the server as a whole
#   VIDEOJOBS_ADDR             host:port of the server (default 127.0.0.1:50051)
#   VIDEOJOBS_TLS_SERVER_NAME  name the certificate must be valid for (default localhost)
#   VIDEOJOBS_CONNECT_TIMEOUT  seconds to wait for the connection (default 10)
# e.g. health-tls.sh ca.pem client.pem client.key videojobs.v1.JobService
# (grpcurl's -authority sets the name TLS checks; older guides use -servername.)
set -euo pipefail
ca="${1:?usage: health-tls.sh CA_PEM [CLIENT_CERT_PEM CLIENT_KEY_PEM] [SERVICE]}"
shift
tls=(-cacert "$ca" -authority "${VIDEOJOBS_TLS_SERVER_NAME:-localhost}" -connect-timeout "${VIDEOJOBS_CONNECT_TIMEOUT:-10}")
if [ $# -ge 2 ]; then
  tls+=(-cert "$1" -key "$2")
  shift 2
fi
grpcurl "${tls[@]}" -d "{\"service\": \"${1:-}\"}" "${VIDEOJOBS_ADDR:-127.0.0.1:50051}" grpc.health.v1.Health/Check
