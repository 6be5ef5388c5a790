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

ensure_installed() {
  command -v redis-server >/dev/null 2>&1 && return 0
  echo "redis: installing Debian's redis-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
  # The package starts a system instance on 6379; this project runs its own.
  (service redis-server stop || systemctl stop redis-server) >/dev/null 2>&1 || true
}

case "$cmd" in
  start)
    ensure_installed
    mkdir -p "$dir"
    if redis-cli -p "$port" ping >/dev/null 2>&1; then echo "redis: already answering on $port" >&2; exit 0; fi
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no
    for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "redis: ready on 127.0.0.1:$port" >&2; exit 0; }; sleep 0.1; done
    echo "redis: did not answer on $port" >&2; exit 1
    ;;
  stop)
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    ;;
  status)
    redis-cli -p "$port" ping
    ;;
  *) echo "usage: redis.sh start|stop|status [name]" >&2; exit 2 ;;
esac
