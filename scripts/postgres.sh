#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the test suite, listening only on 127.0.0.1.
#   scripts/postgres.sh start    install (Debian package) if missing, init, start; prints the URL
#   scripts/postgres.sh url      prints postgresql+psycopg://postgres@127.0.0.1:PORT/paperboy_test
#   scripts/postgres.sh status   exit 0 when running
#   scripts/postgres.sh restart  pg_ctl restart -m fast (drops every connection; tests of outages use it)
#   scripts/postgres.sh stop     stop the server and delete the cluster
# Idempotent; a second `start` costs a status check. Cluster directory: $PAPERBOY_PG_DIR (default
# .pg/ in the repo), first port tried: $PAPERBOY_PG_PORT (default 54329).
# Test-only settings: trust authentication on loopback, fsync off. Never point real data at it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PGDIR=${PAPERBOY_PG_DIR:-$REPO/.pg}
DATA=$PGDIR/data
DB=paperboy_test
SUPERUSER=postgres
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

log() { echo "postgres.sh: $*" >&2; }

# initdb and postgres refuse to run as root: run them as the `postgres` system user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_installed() {
  [ -x "$BIN/postgres" ] && return
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL 15 is not installed; run: sudo apt-get install -y postgresql"
    exit 1
  fi
  log "installing the Debian package postgresql ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # The package starts a system cluster on port 5432; the tests do not use it.
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p=${PAPERBOY_PG_PORT:-54329}
  for _ in $(seq 1 100); do
    port_in_use "$p" || { echo "$p"; return; }
    p=$((p + 1))
  done
  log "no free port found from ${PAPERBOY_PG_PORT:-54329}"
  exit 1
}

running() { [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

port() { cat "$PGDIR/port"; }

url() { echo "postgresql+psycopg://$SUPERUSER@127.0.0.1:$(port)/$DB"; }

psql_admin() { "$BIN/psql" -X -q -h 127.0.0.1 -p "$(port)" -U "$SUPERUSER" -d postgres -v ON_ERROR_STOP=1 "$@"; }

init_cluster() {
  mkdir -p "$PGDIR"
  rm -rf "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
  as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$PGDIR/initdb.log" 2>&1 || { cat "$PGDIR/initdb.log" >&2; exit 1; }
}

configure() {
  # postgresql.auto.conf is read last, so these win over postgresql.conf.
  as_owner tee "$DATA/postgresql.auto.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
  echo "$1" >"$PGDIR/port"
}

start() {
  ensure_installed
  if running; then
    url
    return
  fi
  [ -f "$DATA/PG_VERSION" ] || init_cluster
  local p attempt
  p=$(cat "$PGDIR/port" 2>/dev/null || true)
  for attempt in 1 2 3 4 5; do
    if [ -z "$p" ] || port_in_use "$p"; then
      p=$(free_port)
    fi
    configure "$p"
    as_owner "$BIN/pg_ctl" start -D "$DATA" -l "$DATA/server.log" -w -t 60 >/dev/null && break
    # Another cluster (a concurrent test run) may have taken the port since we looked: try the next.
    if [ "$attempt" = 5 ] || ! grep -q "could not bind\|could not create any TCP/IP sockets" "$DATA/server.log"; then
      tail -n 20 "$DATA/server.log" >&2 || true
      exit 1
    fi
    p=$((p + 1))
  done
  if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql_admin -c "CREATE DATABASE $DB"
  fi
  log "running on 127.0.0.1:$p (data in $DATA)"
  url
}

stop() {
  if running; then
    as_owner "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
  fi
  rm -rf "$PGDIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart)
    running || { log "not running; start it with: scripts/postgres.sh start"; exit 1; }
    as_owner "$BIN/pg_ctl" restart -D "$DATA" -m fast -w -t 60 -l "$DATA/server.log" >/dev/null
    ;;
  url)
    running || { log "not running; start it with: scripts/postgres.sh start"; exit 1; }
    url
    ;;
  status) running ;;
  *)
    echo "usage: $0 start|stop|restart|url|status" >&2
    exit 2
    ;;
esac
