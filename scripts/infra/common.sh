#!/usr/bin/env bash
# Shared settings for the local infrastructure scripts. Everything binds to 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${HISHAMOS_INFRA_DIR:-$ROOT/.hishamos/infra}"
mkdir -p "$STATE"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
PG_PORT="${PG_PORT:-55432}"
PG_VERSION="${PG_VERSION:-15}"
log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }
wait_port() { # host port seconds
  local i=0
  while ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    i=$((i + 1)); [ "$i" -ge $(($3 * 5)) ] && return 1; sleep 0.2
  done
}
