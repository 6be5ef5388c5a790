#!/usr/bin/env bash
# An S3 API server on a loopback port: versitygw (Go, from the Go module proxy) over a POSIX folder, built
# once into .cache/versitygw; buckets are folders of .cache/s3/<name>/data, object metadata in a sidecar
# folder (no xattrs needed). MinIO's server has no semver tags on the module proxy.
#   s3.sh build|start|stop|status [name]     env: S3_PORT (default 7070), S3_ACCESS_KEY / S3_SECRET_KEY
#   (the root user's keys, default varstream / varstream-secret)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${S3_PORT:-7070}"
version=v1.8.0
bin="$root/.cache/versitygw/versitygw-$version"
dir="$root/.cache/s3/$name"

label=s3
. "$here/../lib.sh"

build() { go_install_once "$bin" "github.com/versity/versitygw/cmd/versitygw@$version"; }

answering() { tcp_answering "$port"; }

case "$cmd" in
  build) build ;;
  start)
    build
    if answering; then echo "s3: already answering on $port" >&2; exit 0; fi
    mkdir -p "$dir/data" "$dir/meta"
    nohup "$bin" --port "127.0.0.1:$port" --access "${S3_ACCESS_KEY:-varstream}" --secret "${S3_SECRET_KEY:-varstream-secret}" \
      --quiet posix --sidecar "$dir/meta" "$dir/data" >"$dir/versitygw.log" 2>&1 &
    echo $! >"$dir/versitygw.pid"
    wait_ready answering "$port" "$dir/versitygw.log"
    ;;
  stop)
    [ -f "$dir/versitygw.pid" ] && kill "$(cat "$dir/versitygw.pid")" 2>/dev/null || true
    rm -f "$dir/versitygw.pid"
    ;;
  status) answering ;;
  *) echo "usage: s3.sh build|start|stop|status [name]" >&2; exit 2 ;;
esac
