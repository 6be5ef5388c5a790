#!/usr/bin/env bash
# A Redis server from Debian's redis-server package on a loopback port, data in .cache/redis/<name>.
#   redis.sh start|stop|status [name]     env: REDIS_PORT (default 6379)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${REDIS_PORT:-6379}"
dir="$root/.cache/redis/$name"
label=redis
. "$here/../lib.sh"

ensure_installed() { command -v redis-server >/dev/null 2>&1 || apt_install redis-server redis-server; }
answering() { redis-cli -p "$port" ping >/dev/null 2>&1; }

case "$cmd" in
  start)
    ensure_installed
    mkdir -p "$dir"
    if answering; then echo "redis: already answering on $port" >&2; exit 0; fi
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no
    wait_ready answering "$port" "$dir/redis.log"
    ;;
  stop)
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    ;;
  status)
    redis-cli -p "$port" ping
    ;;
  *) echo "usage: redis.sh start|stop|status [name]" >&2; exit 2 ;;
esac
