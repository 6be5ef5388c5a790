#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (Node 24, pnpm, dependencies, Kafka's jars,
# redis-server, …), starts a test Kafka per Kafka version and the sink servers on loopback ports, then
# runs lint, typecheck and layering once and vitest once per Kafka version (newest 4.x, then 3.9.2).
# Extra arguments go to vitest (e.g. a file filter).
#   env: TEST_KAFKA_VERSIONS ("4.4.0 3.9.2"; one version runs one lane), TEST_KAFKA_CLUSTER (0/1: the cluster
#        lane, on TEST_KAFKA_CLUSTER_PORT 37092/37102/37112), TEST_KAFKA_PORT (39092 for the first
#        version, 1000 less for each next), TEST_REDIS_PORT (36379), TEST_PG_PORT (35432),
#        TEST_ETCD_PORT (32379), TEST_ZK_PORT (32181), TEST_MONGO_PORT (37017, FerretDB), TEST_S3_PORT (37070, versitygw), TEST_REGISTRY_PORT (38081, the schema registry),
#        TEST_REGISTRY_LANE (1: the second lane runs every test pipeline with its values framed through
#        the schema registry; -1: none), TEST_IMAGE (0 leaves the image lane out of the whole suite),
#        TEST_KUBE (1 adds the kube lane), TEST_KUBE_PORT (36443),
#        KEEP_SERVERS=1 to leave them running
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
check_prerequisites
cd "$VARSTREAM_ROOT"

pnpm install --frozen-lockfile --reporter=append-only >/dev/null
bash packages/cue/build.sh # the CUE evaluator, built from source once (also run by postinstall)

read -r -a kafka_versions <<<"${TEST_KAFKA_VERSIONS:-4.4.0 3.9.2}"
kafka_base="${TEST_KAFKA_PORT:-39092}"
redis_port="${TEST_REDIS_PORT:-36379}"
pg_port="${TEST_PG_PORT:-35432}"
etcd_port="${TEST_ETCD_PORT:-32379}"
zk_port="${TEST_ZK_PORT:-32181}"
mongo_port="${TEST_MONGO_PORT:-37017}"
s3_port="${TEST_S3_PORT:-37070}"
registry_port="${TEST_REGISTRY_PORT:-38081}"
kafka_port() { echo $((kafka_base - 1000 * $1)); }
started=()
cleanup() {
  [ "${KEEP_SERVERS:-0}" = 1 ] && return 0
  for s in "${started[@]}"; do
    case "$s" in
      kafka:*) i="${s#kafka:}"; KAFKA_PORT="$(kafka_port "$i")" bash infra/kafka/kafka.sh stop "test-${kafka_versions[$i]}" || true ;;
      cluster) KAFKA_PORT="$cluster_port" bash infra/kafka/kafka.sh stop "$cluster_name" || true ;;
      redis) REDIS_PORT="$redis_port" bash infra/redis/redis.sh stop test || true ;;
      postgres) PG_PORT="$pg_port" bash infra/postgres/postgres.sh stop test || true ;;
      etcd) ETCD_PORT="$etcd_port" bash infra/etcd/etcd.sh stop test || true ;;
      zookeeper) ZK_PORT="$zk_port" bash infra/zookeeper/zookeeper.sh stop test || true ;;
      mongo) MONGO_PORT="$mongo_port" bash infra/mongo/mongo.sh stop test || true ;;
      s3) S3_PORT="$s3_port" bash infra/s3/s3.sh stop test || true ;;
      registry) REGISTRY_PORT="$registry_port" bash infra/registry/registry.sh stop test || true ;;
      kube) KUBE_PORT="$kube_port" bash infra/kube/kube.sh stop test || true ;;
    esac
  done
}
trap cleanup EXIT

# The cluster lane (test/cluster): three brokers of the first version, replication 3, min.insync.replicas 2,
# the leader killed mid-stream. It runs with the whole suite (TEST_KAFKA_CLUSTER=0 leaves it out); with a
# file filter only when TEST_KAFKA_CLUSTER=1 (`bash scripts/test.sh test/cluster` runs it alone).
cluster_port="${TEST_KAFKA_CLUSTER_PORT:-37092}"
cluster_name="test-cluster-${kafka_versions[0]}"
default_cluster=0
[ $# -eq 0 ] && default_cluster=1
[ "${1:-}" = test/cluster ] && default_cluster=1
run_cluster="${TEST_KAFKA_CLUSTER:-$default_cluster}"
if [ "$run_cluster" = 1 ] && ! KAFKA_PORT="$cluster_port" bash infra/kafka/kafka.sh status "$cluster_name" >/dev/null 2>&1; then
  for n in 0 1 2; do rm -rf "$VARSTREAM_CACHE/kafka/$cluster_name/node-$n/data"; done
  KAFKA_NODES=3 KAFKA_VERSION="${kafka_versions[0]}" KAFKA_PORT="$cluster_port" bash infra/kafka/kafka.sh start "$cluster_name"
  started+=(cluster)
fi

for i in "${!kafka_versions[@]}"; do
  v="${kafka_versions[$i]}"
  if ! KAFKA_PORT="$(kafka_port "$i")" bash infra/kafka/kafka.sh status "test-$v" >/dev/null 2>&1; then
    rm -rf "$VARSTREAM_CACHE/kafka/test-$v/data" # every run starts from an empty broker
    KAFKA_VERSION="$v" KAFKA_PORT="$(kafka_port "$i")" bash infra/kafka/kafka.sh start "test-$v"
    started+=("kafka:$i")
  fi
done
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  REDIS_PORT="$redis_port" bash infra/redis/redis.sh start test
  started+=(redis)
fi
if ! PG_PORT="$pg_port" bash infra/postgres/postgres.sh status test >/dev/null 2>&1; then
  PG_PORT="$pg_port" bash infra/postgres/postgres.sh start test
  started+=(postgres)
fi
if ! ETCD_PORT="$etcd_port" bash infra/etcd/etcd.sh status test >/dev/null 2>&1; then
  ETCD_PORT="$etcd_port" bash infra/etcd/etcd.sh start test
  started+=(etcd)
fi
if ! ZK_PORT="$zk_port" bash infra/zookeeper/zookeeper.sh status test >/dev/null 2>&1; then
  ZK_PORT="$zk_port" bash infra/zookeeper/zookeeper.sh start test
  started+=(zookeeper)
fi
if ! MONGO_PORT="$mongo_port" bash infra/mongo/mongo.sh status test >/dev/null 2>&1; then
  rm -rf "$VARSTREAM_CACHE/mongo/test"
  MONGO_PORT="$mongo_port" bash infra/mongo/mongo.sh start test
  started+=(mongo)
fi
if ! S3_PORT="$s3_port" bash infra/s3/s3.sh status test >/dev/null 2>&1; then
  rm -rf "$VARSTREAM_CACHE/s3/test"
  S3_PORT="$s3_port" bash infra/s3/s3.sh start test
  started+=(s3)
fi
if ! REGISTRY_PORT="$registry_port" bash infra/registry/registry.sh status test >/dev/null 2>&1; then
  REGISTRY_PORT="$registry_port" bash infra/registry/registry.sh start test
  started+=(registry)
fi

bash infra/ssh/ensure-sshd.sh
bash infra/prometheus/prometheus.sh install # the scrape test starts its own
bash infra/helm/helm.sh build >/dev/null     # the chart test's helm, built from the Go module proxy once

# Fresh brokers: the first group and transaction create Kafka's internal topics, once, before the tests.
for i in "${!kafka_versions[@]}"; do
  node scripts/warm-kafka.ts "127.0.0.1:$(kafka_port "$i")"
done
if [ "$run_cluster" = 1 ]; then
  node scripts/warm-kafka.ts "127.0.0.1:$cluster_port,127.0.0.1:$((cluster_port + 10)),127.0.0.1:$((cluster_port + 20))"
fi
echo "== lint and format (biome)"
pnpm exec biome ci .
echo "== typecheck (tsc)"
pnpm exec tsc -p tsconfig.json --noEmit
echo "== layering (dependency-cruiser: no package imports a service, no service another; .dependency-cruiser.cjs)"
pnpm exec depcruise --config .dependency-cruiser.cjs packages services test bench
mkdir -p "$VARSTREAM_CACHE"
# A lane's line of the summary from its vitest JSON report: `N passed, N failed`, or why there is none.
passed_failed() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numTotalTests - r.numPassedTests} failed`);
  ' "$1" 2>/dev/null || echo "${2:-no report}"
}
status=0
summary=()
lanes=("${!kafka_versions[@]}")
[ "${1:-}" = test/cluster ] && lanes=() # the cluster lane alone
[ "${1:-}" = test/chaos ] && lanes=()   # the chaos smoke alone
[ "${1:-}" = test/image ] && lanes=()   # the image lane alone
[ "${1:-}" = test/kube ] && lanes=()    # the kube lane alone
registry_lane="${TEST_REGISTRY_LANE:-1}"
for i in "${lanes[@]}"; do
  v="${kafka_versions[$i]}"
  port="$(kafka_port "$i")"
  framing=0 framed_note="" lane_name="Kafka $v"
  if [ "$i" = "$registry_lane" ]; then
    framing=1 framed_note=" (every pipeline's values framed through the registry)" lane_name="Kafka $v, registry-framed"
  fi
  echo "== tests (vitest) against Kafka $v 127.0.0.1:$port, Redis :$redis_port, PostgreSQL :$pg_port, etcd :$etcd_port, ZooKeeper :$zk_port, MongoDB :$mongo_port, S3 :$s3_port, schema registry :$registry_port$framed_note"
  report="$VARSTREAM_CACHE/vitest-$v.json"
  rm -f "$report"
  KAFKA_BROKERS="127.0.0.1:$port" KAFKA_TLS_DIR="$VARSTREAM_CACHE/kafka/test-$v/tls" KAFKA_VERSION="$v" \
    REDIS_PORT="$redis_port" PG_PORT="$pg_port" ETCD_PORT="$etcd_port" ZK_PORT="$zk_port" MONGO_PORT="$mongo_port" S3_PORT="$s3_port" REGISTRY_PORT="$registry_port" \
    TEST_SCHEMA_REGISTRY_EVERYWHERE="$framing" pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" ||
    status=$?
  # One line per lane; tests that never ran because their file failed to set up count as failed.
  summary+=("$lane_name: $(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const notRun = r.testResults.filter((f) => f.status === "failed")
      .flatMap((f) => f.assertionResults).filter((a) => a.status !== "passed" && a.status !== "failed").length;
    const failed = r.numFailedTests + notRun + (r.numFailedTestSuites > 0 && r.numTotalTests === 0 ? 1 : 0);
    const skipped = r.numPendingTests - notRun;
    console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : ""));
  ' "$report" 2>/dev/null || echo "no report")")
done
# The chaos smoke (test/chaos): a stack of separate processes against the first lane's broker, one fault of
# each kind from outside. Alone, after the lanes: it wants both cores. With the whole suite, or asked for.
if [ $# -eq 0 ] || [ "${1:-}" = test/chaos ]; then
  v="${kafka_versions[0]}"
  echo "== chaos smoke (vitest test/chaos) against Kafka $v 127.0.0.1:$(kafka_port 0)"
  report="$VARSTREAM_CACHE/vitest-chaos.json"
  rm -f "$report"
  VARSTREAM_CHAOS=1 KAFKA_BROKERS="127.0.0.1:$(kafka_port 0)" KAFKA_VERSION="$v" \
    REDIS_PORT="$redis_port" PG_PORT="$pg_port" ETCD_PORT="$etcd_port" ZK_PORT="$zk_port" MONGO_PORT="$mongo_port" S3_PORT="$s3_port" \
    pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" test/chaos || status=$?
  summary+=("chaos smoke: $(passed_failed "$report")")
fi
# The image lane (test/image): builds the Containerfile with buildah on local bases (infra/image/image.sh;
# about 4 min cold, seconds when cached) and runs the three services from it against the first broker.
# With the whole suite (TEST_IMAGE=0 leaves it out), or asked for (`bash scripts/test.sh test/image`).
if { [ $# -eq 0 ] && [ "${TEST_IMAGE:-1}" = 1 ]; } || [ "${1:-}" = test/image ]; then
  v="${kafka_versions[0]}"
  echo "== image lane: bash infra/image/image.sh build, then vitest test/image against Kafka $v 127.0.0.1:$(kafka_port 0)"
  report="$VARSTREAM_CACHE/vitest-image.json"
  rm -f "$report"
  started_at=$SECONDS
  if [ "$(id -u)" != 0 ]; then
    echo "the image lane needs root (debootstrap, buildah); TEST_IMAGE=0 leaves it out" >&2
    status=1
  elif bash infra/image/image.sh build >/dev/null; then
    echo "image built in $((SECONDS - started_at)) s"
    VARSTREAM_IMAGE_TEST=1 KAFKA_BROKERS="127.0.0.1:$(kafka_port 0)" KAFKA_VERSION="$v" \
      pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" test/image || status=$?
  else
    status=1
  fi
  summary+=("image: $(passed_failed "$report" "no report (not built)")")
fi
# The kube lane (test/kube): a real Kubernetes API server (infra/kube/kube.sh; kube-apiserver built from the
# Go module proxy, about 4.5 min once), the chart installed and upgraded on it. Only when asked
# (TEST_KUBE=1, or `bash scripts/test.sh test/kube`): a cold build would take CI past its 20 minutes.
if [ "${TEST_KUBE:-0}" = 1 ] || [ "${1:-}" = test/kube ]; then
  kube_port="${TEST_KUBE_PORT:-36443}"
  echo "== kube lane (vitest test/kube) against kube-apiserver https://127.0.0.1:$kube_port"
  report="$VARSTREAM_CACHE/vitest-kube.json"
  rm -f "$report"
  if ! KUBE_PORT="$kube_port" bash infra/kube/kube.sh status test >/dev/null 2>&1; then
    KUBE_PORT="$kube_port" bash infra/kube/kube.sh stop test >/dev/null 2>&1 || true
    rm -rf "$VARSTREAM_CACHE/kube/test" "$VARSTREAM_CACHE/etcd/kube-test" # a fresh instance per run
    started+=(kube) # before the start: a start that fails half-way is stopped by the cleanup too
    KUBE_PORT="$kube_port" bash infra/kube/kube.sh start test
  fi
  VARSTREAM_KUBECONFIG="$(KUBE_PORT="$kube_port" bash infra/kube/kube.sh kubeconfig test)" \
    pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" test/kube || status=$?
  summary+=("kube: $(passed_failed "$report")")
fi
if [ "$run_cluster" = 1 ]; then
  echo "== cluster lane (vitest test/cluster) against a three-broker Kafka ${kafka_versions[0]} on :$cluster_port/:$((cluster_port + 10))/:$((cluster_port + 20))"
  report="$VARSTREAM_CACHE/vitest-cluster.json"
  rm -f "$report"
  KAFKA_CLUSTER=1 KAFKA_CLUSTER_NAME="$cluster_name" KAFKA_CLUSTER_PORT="$cluster_port" \
    KAFKA_BROKERS="127.0.0.1:$cluster_port,127.0.0.1:$((cluster_port + 10)),127.0.0.1:$((cluster_port + 20))" \
    pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" test/cluster || status=$?
  summary+=("Kafka ${kafka_versions[0]} cluster: $(passed_failed "$report")")
fi
[ ${#summary[@]} -eq 0 ] || printf "%s\n" "${summary[@]}"
exit "$status"
