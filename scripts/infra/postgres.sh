#!/usr/bin/env bash
# PostgreSQL 15 from Debian, a private cluster on 127.0.0.1:$PG_PORT owned by the 'postgres' OS user.
# Usage: postgres.sh install|start|stop|status|reset
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PGBIN="/usr/lib/postgresql/$PG_VERSION/bin"
PGDATA_DIR="${PGDATA_DIR:-/var/tmp/hishamos-pg-$PG_PORT}"
AS_PG() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install() {
  [ -x "$PGBIN/postgres" ] && return 0
  [ "$(id -u)" = 0 ] || die "postgresql-$PG_VERSION is missing and this user cannot apt-get install it"
  log "installing postgresql-$PG_VERSION from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null || die "apt-get install postgresql-$PG_VERSION failed"
  # Debian starts its own cluster on 5432; ours is separate, so stop theirs to save memory.
  command -v pg_ctlcluster >/dev/null && pg_ctlcluster "$PG_VERSION" main stop 2>/dev/null || true
}

running() { AS_PG "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }

start() {
  install
  if running; then log "postgres already running on 127.0.0.1:$PG_PORT"; return 0; fi
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    mkdir -p "$PGDATA_DIR"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA_DIR"
    AS_PG "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null || die "initdb failed"
    cat >> "$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA_DIR'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
  fi
  AS_PG "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 60 start >/dev/null || die "postgres failed to start: $(tail -20 "$PGDATA_DIR/server.log")"
  log "postgres $PG_VERSION is up on 127.0.0.1:$PG_PORT"
}

stop() { if running; then AS_PG "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null; fi; log "postgres stopped"; }
status() { if running; then echo "postgres: up 127.0.0.1:$PG_PORT"; else echo "postgres: down"; return 1; fi; }
reset() { stop; rm -rf "$PGDATA_DIR"; }

case "${1:-status}" in install) install ;; start) start ;; stop) stop ;; status) status ;; reset) reset ;; *) die "usage: $0 install|start|stop|status|reset" ;; esac
