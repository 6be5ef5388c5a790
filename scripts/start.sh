#!/usr/bin/env bash
# Runs the whole pipeline locally: installs dependencies, starts a single-node Kafka (KRaft, jars from
# Maven Central, cached), prepares the example (a Git repository with examples/config, the `file`
# sink), starts ingest, etl and sink-writer, and prints a curl that triggers a real sync.
# Ctrl-C stops the services; Kafka keeps running for the next start (bash infra/kafka/kafka.sh stop local).
# env: KAFKA_PORT (9092), HTTP_ADDR (127.0.0.1:8000)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
check_prerequisites
cd "$VARSTREAM_ROOT"

pnpm install --frozen-lockfile --reporter=append-only >/dev/null
bash packages/cue/build.sh # the CUE evaluator, built from source once (also run by postinstall)
export KAFKA_PORT="${KAFKA_PORT:-9092}"
bash infra/kafka/kafka.sh start local
# A fresh broker makes its offsets and transaction topics at the first group and transaction; the services
# starting together on one that is still loading them would give up (ingest's task store first).
node scripts/warm-kafka.ts "127.0.0.1:$KAFKA_PORT"

example="$VARSTREAM_CACHE/example"
repo="$example/repos/acme/config"
run="$VARSTREAM_CACHE/run"
mkdir -p "$example/out" "$run"
sed "s#@EXAMPLE@#$example#g" examples/bundle.template.yaml >"$example/bundle.yaml"
if [ ! -d "$repo/.git" ]; then
  mkdir -p "$repo/config"
  git -C "$repo" init -q --initial-branch=main
  git -C "$repo" config user.email "example@varstream.invalid"
  git -C "$repo" config user.name "varstream example"
fi
cp examples/config/app.yaml "$repo/config/app.yaml"
git -C "$repo" add config
git -C "$repo" diff --cached --quiet || git -C "$repo" commit -q -m "example config $(date -u +%FT%TZ)"
after="$(git -C "$repo" rev-parse HEAD)"
before="$(git -C "$repo" rev-parse --verify -q HEAD~1 || printf '%040d' 0)"
cat >"$example/push.json" <<JSON
{"ref":"refs/heads/main","before":"$before","after":"$after",
 "repository":{"full_name":"acme/config","clone_url":"file://$repo"},
 "commits":[{"id":"$after","added":[],"removed":[],"modified":["config/app.yaml"]}]}
JSON

export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export CONFIG_PATH="$example/bundle.yaml"
export GIT_CACHE_DIR="$VARSTREAM_CACHE/gitcache"
export HTTP_ADDR="${HTTP_ADDR:-127.0.0.1:8000}"
pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping services (Kafka keeps running: bash infra/kafka/kafka.sh stop local)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT
for svc in ingest etl sink-writer; do
  node "services/$svc/src/main.ts" >"$run/$svc.log" 2>&1 &
  pids+=($!)
done

url="http://$HTTP_ADDR"
for _ in $(seq 1 300); do
  curl -fs "$url/v1/health/ready" >/dev/null 2>&1 && break
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a service exited; logs in $run" >&2; tail -5 "$run"/*.log >&2; exit 1; }; done
  sleep 0.2
done
curl -fs "$url/v1/health/ready" >/dev/null || { echo "ingest did not become ready; logs in $run" >&2; exit 1; }

cat <<TXT

varstream is running.
  webhooks   POST $url/v1/webhooks/file
  tasks      GET  $url/v1/tasks/<task_id>
  API docs   $url/docs
  metrics    $url/metrics
  logs       $run/{ingest,etl,sink-writer}.log
  Kafka      127.0.0.1:$KAFKA_PORT        example repo  $repo

Trigger a real sync of config/app.yaml at $after:

  curl -s -X POST $url/v1/webhooks/file -H 'Content-Type: application/json' \\
    -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: \$(date +%s%N)" --data @$example/push.json

then look at the task it names (curl -s $url/v1/tasks/<task_id>) and at the file sink:

  cat $example/out/production/app.json

Ctrl-C stops the services.
TXT
wait "${pids[@]}"
