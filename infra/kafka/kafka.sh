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
# KAFKA_NODES=3 starts a cluster instead: three JVMs, each broker and controller (a three-voter KRaft
# quorum), node i (0-based) on KAFKA_PORT+10·i (+1 controller, +2 SASL_SSL, +3 SSL), in
# .cache/kafka/<name>/node-<i>, with default.replication.factor=3 and min.insync.replicas=2.
#   kafka.sh kill <name> <i>   SIGKILL node i of a cluster (the failover test's crash)
#   kafka.sh start-node <name> <i>   start node i of a formatted cluster again
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
nodes="${KAFKA_NODES:-1}"
[ -f "$dir/nodes" ] && [ "$cmd" != start ] && nodes="$(cat "$dir/nodes")"

# node_env <i>: the ports and folder of node i
node_env() {
  local i="$1"
  if [ "$nodes" = 1 ]; then ndir="$dir"; nport="$port"; ncport="$cport"; nsasl="$sasl_port"; nssl="$ssl_port"
  else ndir="$dir/node-$i"; nport=$((port + 10 * i)); ncport=$((nport + 1)); nsasl=$((nport + 2)); nssl=$((nport + 3)); fi
  pidfile="$ndir/kafka.pid"
}

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
  ${run:-} java -Xms128m -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$ndir/log4j.properties" -Dlog4j2.configurationFile="$ndir/log4j2.properties" \
    -Dkafka.logs.dir="$ndir/logs" -cp "$libs/*" "$@"
}

voters() {
  local i out=""
  if [ "$nodes" = 1 ]; then echo "1@127.0.0.1:$cport"; return; fi
  for i in $(seq 0 $((nodes - 1))); do out="$out,$((i + 1))@127.0.0.1:$((port + 10 * i + 1))"; done
  echo "${out#,}"
}

write_config() {
  local i="$1" rf=1 isr=1
  [ "$nodes" = 1 ] || { rf=3; isr=2; }
  mkdir -p "$ndir/data" "$ndir/logs"
  bash "$here/../tls/make-cert.sh" "$dir/tls" varstream limited
  cat "$dir/tls/server.key" "$dir/tls/server.crt" >"$dir/tls/server.pem"
  chmod 600 "$dir/tls/server.pem"
  local plain="" u
  for u in $users; do plain="$plain user_${u%%:*}=\"${u#*:}\""; done
  sed -e "s#@PORT@#$nport#g" -e "s#@CPORT@#$ncport#g" -e "s#@SASLPORT@#$nsasl#g" -e "s#@SSLPORT@#$nssl#g" \
    -e "s#@NODEID@#$((i + 1))#g" -e "s#@VOTERS@#$(voters)#g" -e "s#@RF@#$rf#g" -e "s#@MINISR@#$isr#g" \
    -e "s#@DATA@#$ndir/data#g" -e "s#@TLS@#$dir/tls#g" -e "s#@PLAINUSERS@#${plain# }#g" \
    "$here/server.properties.in" >"$ndir/server.properties"
  sed -e "s#@LOGS@#$ndir/logs#g" "$here/log4j.properties.in" >"$ndir/log4j.properties"
  sed -e "s#@LOGS@#$ndir/logs#g" "$here/log4j2.properties.in" >"$ndir/log4j2.properties"
}

format_storage() {
  local cluster_id="$1" args=() u
  for u in $users; do
    args+=(--add-scram "SCRAM-SHA-256=[name=${u%%:*},password=${u#*:}]")
    args+=(--add-scram "SCRAM-SHA-512=[name=${u%%:*},password=${u#*:}]")
  done
  java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$ndir/server.properties" "${args[@]}" \
    >"$ndir/logs/format.log" 2>&1 ||
    { echo "kafka: formatting storage failed; see $ndir/logs/format.log" >&2; tail -5 "$ndir/logs/format.log" >&2; exit 1; }
}

launch() {
  nohup bash -c "$(declare -f java_cmd); libs='$libs' ndir='$ndir' run=exec; java_cmd kafka.Kafka '$ndir/server.properties'" \
    >"$ndir/logs/stdout.log" 2>&1 &
  echo $! >"$pidfile"
}

wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90})) i
  for i in $(seq 0 $((nodes - 1))); do
    node_env "$i"
    # node is needed by wait-ready; the helper only uses kafkajs from the workspace.
    until node "$here/wait-ready.mjs" "127.0.0.1:$nport" "$nodes" 2>/dev/null; do
      running || { echo "kafka: broker exited during start; see $ndir/logs/server.log" >&2; tail -20 "$ndir/logs/server.log" >&2 || true; exit 1; }
      [ $SECONDS -lt $deadline ] || { echo "kafka: not ready after ${KAFKA_START_TIMEOUT:-90}s" >&2; exit 1; }
      sleep 0.5
    done
  done
}

stop_node() {
  if running; then
    local pid
    pid="$(cat "$pidfile")"
    pkill -TERM -P "$pid" 2>/dev/null || true # a broker started by an older script runs under a bash wrapper
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "$cmd" in
  start)
    node_env 0
    if running; then echo "kafka: $name already running on 127.0.0.1:$port" >&2; exit 0; fi
    fetch_jars
    mkdir -p "$dir"
    echo "$nodes" >"$dir/nodes"
    cluster_id=""
    for i in $(seq 0 $((nodes - 1))); do
      node_env "$i"
      write_config "$i"
      if [ ! -f "$ndir/data/meta.properties" ]; then
        [ -n "$cluster_id" ] || cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid)"
        format_storage "$cluster_id"
      fi
      launch
    done
    wait_ready
    if [ "$nodes" = 1 ]; then
      echo "kafka: $name (Kafka $version) ready on 127.0.0.1:$port (SASL_SSL :$sasl_port, mTLS :$ssl_port)" >&2
    else
      echo "kafka: $name (Kafka $version, $nodes nodes) ready on 127.0.0.1:$port,$((port + 10)),$((port + 20))" >&2
    fi
    ;;
  start-node)
    [ -f "$dir/nodes" ] || { echo "kafka: $name was never started as a cluster" >&2; exit 1; }
    node_env "${3:?node index}"
    running || launch
    ;;
  kill)
    node_env "${3:?node index}"
    if running; then kill -KILL "$(cat "$pidfile")"; fi
    rm -f "$pidfile"
    ;;
  stop)
    for i in $(seq 0 $((nodes - 1))); do node_env "$i"; stop_node; done
    ;;
  status)
    node_env 0
    if running; then echo "running"; else echo "stopped"; exit 1; fi
    ;;
  *) echo "usage: kafka.sh start|stop|status|kill|start-node [name] [node]" >&2; exit 2 ;;
esac
