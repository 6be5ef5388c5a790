#!/usr/bin/env bash
# A real single-node Kafka (KRaft, broker+controller in one JVM) from Apache Kafka's jars on Maven Central.
#   kafka.sh start [name]   fetch jars once (cached per version), format storage once, start, wait until ready
#   kafka.sh stop [name]    stop it cleanly (SIGTERM, then wait)
#   kafka.sh status [name]
# Env: KAFKA_VERSION (default 4.4.0; 3.9.x works too), KAFKA_PORT (default 9092, PLAINTEXT),
#      KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_SASL_PORT (KAFKA_PORT+2, SASL_SSL: SCRAM-SHA-256/512, PLAIN),
#      KAFKA_SSL_PORT (KAFKA_PORT+3, SSL with client certificates), KAFKA_HEAP (default 512m),
#      KAFKA_USERS ("name:password …", SCRAM and PLAIN users made at format time; default below).
# ACLs are on (StandardAuthorizer): PLAINTEXT's ANONYMOUS and `admin` are super users, the other users and
# certificate principals (User:CN=<name>) get what ACLs grant. The CA, the server certificate and client
# certificates for `varstream` and `limited` are in .cache/kafka/<name>/tls. Test credentials, loopback only.
# Each name gets its own data folder under .cache/kafka/<name>; `start` of a running broker is a no-op.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/../../scripts/env.sh"
cmd="${1:-start}"
name="${2:-local}"
version="${KAFKA_VERSION:-4.4.0}"
major="${version%%.*}"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
sasl_port="${KAFKA_SASL_PORT:-$((port + 2))}"
ssl_port="${KAFKA_SSL_PORT:-$((port + 3))}"
users="${KAFKA_USERS:-admin:admin-secret varstream:varstream-secret limited:limited-secret}"
libs="$VARSTREAM_CACHE/kafka/libs-$version-$(sha256sum "$here/pom.xml" | cut -c1-12)"
dir="$VARSTREAM_CACHE/kafka/$name"
pidfile="$dir/kafka.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

fetch_jars() {
  [ -f "$libs/.complete" ] && return 0
  echo "kafka: fetching broker jars from Maven Central into $libs" >&2
  mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$version" -P "kafka$major" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

java_cmd() {
  java -Xms128m -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -Dkafka.logs.dir="$dir/logs" -cp "$libs/*" "$@"
}

write_config() {
  mkdir -p "$dir/data" "$dir/logs"
  bash "$here/../tls/make-cert.sh" "$dir/tls" varstream limited
  cat "$dir/tls/server.key" "$dir/tls/server.crt" >"$dir/tls/server.pem"
  chmod 600 "$dir/tls/server.pem"
  local plain="" u
  for u in $users; do plain="$plain user_${u%%:*}=\"${u#*:}\""; done
  sed -e "s#@PORT@#$port#g" -e "s#@CPORT@#$cport#g" -e "s#@SASLPORT@#$sasl_port#g" -e "s#@SSLPORT@#$ssl_port#g" \
    -e "s#@DATA@#$dir/data#g" -e "s#@TLS@#$dir/tls#g" -e "s#@PLAINUSERS@#${plain# }#g" \
    "$here/server.properties.in" >"$dir/server.properties"
  sed -e "s#@LOGS@#$dir/logs#g" "$here/log4j.properties.in" >"$dir/log4j.properties"
  sed -e "s#@LOGS@#$dir/logs#g" "$here/log4j2.properties.in" >"$dir/log4j2.properties"
}

format_storage() {
  local args=() u
  for u in $users; do
    args+=(--add-scram "SCRAM-SHA-256=[name=${u%%:*},password=${u#*:}]")
    args+=(--add-scram "SCRAM-SHA-512=[name=${u%%:*},password=${u#*:}]")
  done
  java_cmd kafka.tools.StorageTool format -t "$(java_cmd kafka.tools.StorageTool random-uuid)" \
    -c "$dir/server.properties" "${args[@]}" >"$dir/logs/format.log" 2>&1 ||
    { echo "kafka: formatting storage failed; see $dir/logs/format.log" >&2; tail -5 "$dir/logs/format.log" >&2; exit 1; }
}

wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  until node "$here/wait-ready.mjs" "127.0.0.1:$port" 2>/dev/null; do
    running || { echo "kafka: broker exited during start; see $dir/logs/server.log" >&2; tail -20 "$dir/logs/server.log" >&2 || true; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "kafka: not ready after ${KAFKA_START_TIMEOUT:-90}s" >&2; exit 1; }
    sleep 0.5
  done
}

case "$cmd" in
  start)
    if running; then echo "kafka: $name already running on 127.0.0.1:$port" >&2; exit 0; fi
    fetch_jars
    write_config
    [ -f "$dir/data/meta.properties" ] || format_storage
    nohup bash -c "$(declare -f java_cmd); libs='$libs' dir='$dir'; java_cmd kafka.Kafka '$dir/server.properties'" \
      >"$dir/logs/stdout.log" 2>&1 &
    echo $! >"$pidfile"
    # node is needed by wait-ready; the helper only uses kafkajs from the workspace.
    wait_ready
    echo "kafka: $name (Kafka $version) ready on 127.0.0.1:$port (SASL_SSL :$sasl_port, mTLS :$ssl_port)" >&2
    ;;
  stop)
    if running; then
      pid="$(cat "$pidfile")"
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    ;;
  status)
    if running; then echo "running"; else echo "stopped"; exit 1; fi
    ;;
  *) echo "usage: kafka.sh start|stop|status [name]" >&2; exit 2 ;;
esac
