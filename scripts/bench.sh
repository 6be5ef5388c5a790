#!/usr/bin/env bash
# Benchmarks: starts a bench Kafka (port 29092) and Redis (26379) if needed and runs bench/<name>.ts.
#   bash scripts/bench.sh e2e|ingest|cue|sinks [args]      each prints one JSON line
#   bash scripts/bench.sh chaos [--runs 200] [--long]      the full chaos run (test/chaos/run.ts); its
#                                                         faults include restarts of the bench broker
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$VARSTREAM_ROOT"
name="${1:?usage: bench.sh <name> [args]}"
shift
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
bash packages/cue/build.sh # the CUE evaluator, built from source once (also run by postinstall)
KAFKA_PORT=29092 bash infra/kafka/kafka.sh start bench >&2
REDIS_PORT=26379 bash infra/redis/redis.sh start bench >&2
if [ "$name" = sinks ] || [ "$name" = chaos ]; then
  PG_PORT=25432 bash infra/postgres/postgres.sh start bench >&2
  ETCD_PORT=22379 bash infra/etcd/etcd.sh start bench >&2
  ZK_PORT=22181 bash infra/zookeeper/zookeeper.sh start bench >&2
  MONGO_PORT=27117 bash infra/mongo/mongo.sh start bench >&2
  S3_PORT=27070 bash infra/s3/s3.sh start bench >&2
fi
script="bench/$name.ts"
[ "$name" = chaos ] && script=test/chaos/run.ts
KAFKA_BROKERS=127.0.0.1:29092 REDIS_PORT=26379 PG_PORT=25432 ETCD_PORT=22379 ZK_PORT=22181 MONGO_PORT=27117 S3_PORT=27070 LOG_LEVEL=warn \
  CHAOS_KAFKA_NAME=bench CHAOS_KAFKA_PORT=29092 node "$script" "$@"
