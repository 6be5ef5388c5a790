#!/usr/bin/env bash
# A Confluent-compatible schema registry: Apicurio Registry from Maven Central
# (io.apicurio:apicurio-registry-app:<version>:tar.gz:all), unpacked once into .cache/registry/, on a
# loopback port, in-memory storage (a restart forgets every schema: for tests and local runs).
#   registry.sh start|stop|status [name]
# Env: REGISTRY_PORT (default 8081), REGISTRY_VERSION (default 3.3.3), REGISTRY_JAVA (a Java 21+ `java`;
#      default: the first of $JAVA_HOME and /usr/lib/jvm/* that is 21 or newer), REGISTRY_HEAP (default 256m).
# The Confluent API is at http://127.0.0.1:<port>/apis/ccompat/v7 (what KAFKA_SCHEMA_REGISTRY_URL takes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-start}"
name="${2:-local}"
port="${REGISTRY_PORT:-8081}"
version="${REGISTRY_VERSION:-3.3.3}"
app="$root/.cache/registry/apicurio-$version"
dir="$root/.cache/registry/$name"
label=registry
. "$here/../lib.sh"

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

find_java() {
  if [ -n "${REGISTRY_JAVA:-}" ]; then echo "$REGISTRY_JAVA"; return; fi
  local j
  for j in ${JAVA_HOME:+$JAVA_HOME/bin/java} /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [ -x "$j" ] || continue
    if [ "$(java_major "$j")" -ge 21 ] 2>/dev/null; then echo "$j"; return; fi
  done
  echo "registry: Apicurio Registry needs Java 21 or newer; set REGISTRY_JAVA" >&2
  exit 1
}

fetch_app() {
  [ -f "$app/.complete" ] && return 0
  echo "registry: fetching Apicurio Registry $version from Maven Central into $app" >&2
  rm -rf "$app" && mkdir -p "$app"
  mvn -q -B -Dstyle.color=never dependency:copy \
    -Dartifact="io.apicurio:apicurio-registry-app:$version:tar.gz:all" -DoutputDirectory="$app" >&2
  tar -xzf "$app/apicurio-registry-app-$version-all.tar.gz" -C "$app"
  rm "$app/apicurio-registry-app-$version-all.tar.gz"
  touch "$app/.complete"
}

answering() { curl -fs "http://127.0.0.1:$port/apis/ccompat/v7/subjects" >/dev/null 2>&1; }

case "$cmd" in
  start)
    if answering; then echo "registry: already answering on $port" >&2; exit 0; fi
    fetch_app
    java="$(find_java)"
    mkdir -p "$dir"
    (cd "$dir" && exec nohup "$java" -Xms64m -Xmx"${REGISTRY_HEAP:-256m}" \
      -Dquarkus.http.port="$port" -Dquarkus.http.host=127.0.0.1 -Dquarkus.log.level=WARN \
      -jar "$app/quarkus-run.jar" >"$dir/registry.log" 2>&1) &
    echo $! >"$dir/registry.pid"
    for _ in $(seq 1 600); do
      if answering; then echo "registry: ready on 127.0.0.1:$port" >&2; exit 0; fi
      kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "registry: did not answer on $port; see $dir/registry.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$dir/registry.pid" ]; then
      pid="$(cat "$dir/registry.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/registry.pid"
    ;;
  status)
    answering
    ;;
  *) echo "usage: registry.sh start|stop|status [name]" >&2; exit 2 ;;
esac
