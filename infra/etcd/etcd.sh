#!/usr/bin/env bash
# An etcd server (v3 API) from Debian's etcd-server package on loopback ports, data in .cache/etcd/<name>.
#   etcd.sh start|stop|status [name]     env: ETCD_PORT (client, default 2379; peer = port+1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${ETCD_PORT:-2379}"
peer=$((port + 1))
dir="$root/.cache/etcd/$name"

label=etcd
. "$here/../lib.sh"

ensure_installed() { command -v etcd >/dev/null 2>&1 || apt_install etcd-server etcd; }

answering() { curl -fs "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"health":"true"'; }

case "$cmd" in
  start)
    ensure_installed
    if answering; then echo "etcd: already answering on $port" >&2; exit 0; fi
    mkdir -p "$dir"
    ETCD_UNSUPPORTED_ARCH="${ETCD_UNSUPPORTED_ARCH:-}" nohup etcd --name "$name" --data-dir "$dir/data" \
      --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$name=http://127.0.0.1:$peer" >"$dir/etcd.log" 2>&1 &
    echo $! >"$dir/etcd.pid"
    wait_ready answering "$port" "$dir/etcd.log"
    ;;
  stop)
    [ -f "$dir/etcd.pid" ] && kill "$(cat "$dir/etcd.pid")" 2>/dev/null || true
    rm -f "$dir/etcd.pid"
    ;;
  status)
    answering
    ;;
  *) echo "usage: etcd.sh start|stop|status [name]" >&2; exit 2 ;;
esac
