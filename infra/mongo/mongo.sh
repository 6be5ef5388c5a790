#!/usr/bin/env bash
# A MongoDB wire-protocol server on a loopback port: FerretDB v1 (Go, from the Go module proxy) over SQLite,
# built once into .cache/ferretdb; data in .cache/mongo/<name>. No real mongod is installable here.
#   mongo.sh build|start|stop|status [name]     env: MONGO_PORT (default 27017; FerretDB's debug port = port+1),
#   MONGO_USER/MONGO_PASSWORD (optional: authentication on, with that user set up)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${MONGO_PORT:-27017}"
version=v1.24.2
bin="$root/.cache/ferretdb/ferretdb-$version"
dir="$root/.cache/mongo/$name"

label=mongo
. "$here/../lib.sh"

# FerretDB's command wants build/version/version.txt, which its module does not ship: built from a copy.
build() {
  [ -x "$bin" ] && return 0
  command -v go >/dev/null 2>&1 || { echo "mongo: Go is needed to build FerretDB" >&2; exit 1; }
  echo "mongo: building FerretDB $version from the Go module proxy, once" >&2
  local src work
  src="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  work="$(mktemp -d)"
  cp -r "$src/." "$work" && chmod -R u+w "$work"
  echo "$version" >"$work/build/version/version.txt"
  mkdir -p "$(dirname "$bin")"
  (cd "$work" && GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w" -o "$bin.tmp" ./cmd/ferretdb)
  mv "$bin.tmp" "$bin"
  rm -rf "$work"
}

answering() { tcp_answering "$port"; }

case "$cmd" in
  build) build ;;
  start)
    build
    if answering; then echo "mongo: already answering on $port" >&2; exit 0; fi
    mkdir -p "$dir/data"
    auth=()
    if [ -n "${MONGO_USER:-}" ]; then
      auth=(--test-enable-new-auth --setup-database=admin --setup-username="$MONGO_USER" --setup-password="${MONGO_PASSWORD:?}")
    fi
    nohup "$bin" --handler=sqlite --sqlite-url="file:$dir/data/" --listen-addr="127.0.0.1:$port" \
      --debug-addr="127.0.0.1:$((port + 1))" --state-dir="$dir" --telemetry=disable --log-level=WARN \
      "${auth[@]}" >"$dir/ferretdb.log" 2>&1 &
    echo $! >"$dir/ferretdb.pid"
    wait_ready answering "$port" "$dir/ferretdb.log"
    ;;
  stop)
    [ -f "$dir/ferretdb.pid" ] && kill "$(cat "$dir/ferretdb.pid")" 2>/dev/null || true
    rm -f "$dir/ferretdb.pid"
    ;;
  status) answering ;;
  *) echo "usage: mongo.sh build|start|stop|status [name]" >&2; exit 2 ;;
esac
