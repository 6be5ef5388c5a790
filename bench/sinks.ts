/**
 * bench/sinks: keys/s each sink applies for SCOPES scopes × 20 keys, through the apply path the sink
 * writer uses (manifest read, diff, transactional write), SCOPES/CONCURRENCY scopes in flight at once.
 * Then deletes every scope again (tombstones), measuring prune; then runs the ceiling beside it (bench/ceilings.ts:
 * the store's own client doing the same writes) and prints both and their ratio. Prints one JSON line. Usage: node bench/sinks.ts [SCOPES] [CONCURRENCY] [SINKS]
 * (env REDIS_PORT, PG_PORT, ETCD_PORT, ZK_PORT, MONGO_PORT, S3_PORT; SINKS: kinds of the sink registry, default file,redis,postgres,etcd,zookeeper)
 */
import { randomUUID } from "node:crypto";
import { createLogger, type KeySet, Secrets } from "@varstream/shared";
import { applyDesired, connectSink, SINK_KINDS, type SinkKind } from "@varstream/sinks";
import { loadFixtures } from "@varstream/sinks/testing";
import { makeKeySet } from "@varstream/testkit";
import { CEILINGS, type ScopeWrite } from "./ceilings.ts";

const scopes = Number(process.argv[2] ?? 10_000);
const concurrency = Number(process.argv[3] ?? 64);
const wanted = (process.argv[4] ?? "file,redis,postgres,etcd,zookeeper").split(",");
const unknown = wanted.filter((name) => !(SINK_KINDS as string[]).includes(name));
if (unknown.length > 0) throw new Error(`no sink kind ${unknown.join(", ")}; kinds: ${SINK_KINDS.join(", ")}`);
const logger = createLogger("bench", "error");
const run = randomUUID().slice(0, 8);
// Each sink's store as its tests reach it (src/<kind>/fixture.ts): a table, prefix, root or folder of its own.
const fixtures = new Map(await loadFixtures());

function keySet(sink: string, i: number): KeySet {
  const keys: Record<string, string | number> = {};
  // Distinct keys per scope: the scopes sharing a destination do not claim each other's keys.
  for (let k = 0; k < 20; k++) keys[`f${i}.setting_${k}`] = k % 2 === 0 ? `value-${i}-${k}` : i * k;
  // The run id keeps runs apart: a scope applied by an earlier run would be an idempotent no-op here.
  const scope = { datasource: sink, destination: `bench-${run}/d${i % 500}`, repo: "bench/repo", file: `f${i}.yaml` };
  return makeKeySet(scope, keys, { task_id: `bench-${i}`, commit: `c${i}` });
}

const results: Record<string, unknown> = {};
for (const name of wanted as SinkKind[]) {
  const store = await fixtures.get(name)!.open();
  const sink = await connectSink(name, name, store.config, { secrets: new Secrets() });
  // The file sink writes one file per destination; a scope per file there keeps it from measuring its lock.
  const count = name === "file" ? Math.min(scopes, 2000) : scopes;
  // Pass 1 writes every scope; pass 2 deletes them again (a tombstone per scope: prune of all 20 keys),
  // which also leaves the store as it was, so runs do not pile up data.
  // Key sets are made before the clock starts: the figure is the sink's, not the generator's.
  const keySets = Array.from({ length: count }, (_, i) => keySet(name, i));
  const pass = async (tombstone: boolean) => {
    let next = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const ks = keySets[next++]!;
          const report = await applyDesired(
            sink,
            {
              scope: ks.scope,
              taskId: `${ks.task_id}${tombstone ? "-rm" : ""}`,
              commit: ks.commit,
              keySet: tombstone ? null : ks,
            },
            { maxRetries: 1, retryBaseMs: 50, logger },
          );
          if (report.outcome !== "applied") failed++;
        }
      }),
    );
    return { keysPerSecond: Math.round((count * 20) / ((performance.now() - started) / 1000)), failed };
  };
  const written = await pass(false);
  const removed = await pass(true);
  // The same writes by the store's own client, against the same server, in the same minutes.
  const writes = keySets.map(
    (ks, id): ScopeWrite => ({
      id,
      destination: ks.scope.destination,
      keys: Object.fromEntries(Object.entries(ks.keys).map(([k, v]) => [k, String(v)])),
    }),
  );
  const ceiling = CEILINGS[name] ? await CEILINGS[name](store.config, writes, concurrency) : undefined;
  results[name] = {
    scopes: count,
    keys_per_s: written.keysPerSecond,
    scopes_per_s: Math.round(written.keysPerSecond / 20),
    pruned_keys_per_s: removed.keysPerSecond,
    failed: written.failed + removed.failed,
    ...(ceiling === undefined
      ? {}
      : { ceiling_keys_per_s: ceiling, ratio: Math.round((written.keysPerSecond / ceiling) * 100) / 100 }),
  };
  await sink.close();
  await store.close();
}
console.log(JSON.stringify({ bench: "sinks", keys_per_scope: 20, concurrency, ...results }));
process.exit(0);
