#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up
# for the tests: starts them when they are installed but stopped, installs
# them with apt-get when missing (root), and gives the `postgres` role the
# password the tests use, so trust and password authentication both work.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "installing redis-server"; apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/videojobs-test-redis.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

if ! command -v pg_ctlcluster >/dev/null; then
  echo "installing postgresql"; apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.1; done
fi
if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 \
  && echo "services: PostgreSQL and Redis ready"
# Each test creates its own database; drop those left by earlier runs: only
# those made more than six hours ago (the name is vj_test_ and a UUIDv7,
# whose first 48 bits are its creation in ms), and never by force, so a
# suite or a benchmark running beside this one keeps its databases.
PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc \
  "select datname from pg_database where datname ~ '^vj_test_[0-9a-f]{32}$'
     and to_timestamp(('x' || substr(datname, 9, 12))::bit(48)::bigint / 1000.0) < now() - interval '6 hours'" |
  while read -r db; do
    [ -n "$db" ] && PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $db" 2>/dev/null || true
  done
