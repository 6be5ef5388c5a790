import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type KeySet, registry, type Scope, Secrets } from "@varstream/shared";
import { desiredOf, makeKeySet } from "@varstream/testkit";
import { describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply.ts";
import { connectSink } from "../src/registry.ts";

const _REDIS_PORT = Number(process.env.REDIS_PORT ?? 36379);
const logger = createLogger("test", "silent");
const options = { maxRetries: 1, retryBaseMs: 10, logger };
const deps = { secrets: new Secrets() };

const keySet = (scope: Scope, taskId: string, keys: KeySet["keys"], protection: string[] = []) =>
  makeKeySet(scope, keys, { task_id: taskId, prune: { enabled: true, protection } });
const desired = desiredOf;

describe("per-sink metrics", () => {
  const value = async (name: string, labels: Record<string, string>) => {
    const metric = await registry.getSingleMetric(name)!.get();
    const match = metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return match.reduce((sum, v) => sum + v.value, 0);
  };

  it("counts keys set/unchanged/pruned, apply durations, retries and rollbacks under each sink's own name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-metrics-"));
    const ok = await connectSink("file", "metrics-ok", { path: dir, format: "json" }, deps);
    const bad = await connectSink("file", "metrics-bad", { path: dir, format: "json" }, deps);
    const scope: Scope = { datasource: "metrics-ok", destination: "m", repo: "acme/c", file: "x.yaml" };
    await applyDesired(ok, desired(keySet(scope, "t1", { a: 1, b: 2 })), options);
    await applyDesired(ok, desired(keySet(scope, "t2", { a: 1, c: 3 })), options);
    const refused = keySet({ ...scope, datasource: "metrics-bad", destination: "../escape" }, "t3", { a: 1 });
    expect(await applyDesired(bad, desired(refused), options)).toMatchObject({ outcome: "failed" });

    expect(await value("varstream_sink_keys_total", { sink: "metrics-ok", action: "set" })).toBe(3);
    expect(await value("varstream_sink_keys_total", { sink: "metrics-ok", action: "unchanged" })).toBe(1);
    expect(await value("varstream_sink_keys_total", { sink: "metrics-ok", action: "pruned" })).toBe(1);
    expect(await value("varstream_sink_apply_seconds", { sink: "metrics-ok", outcome: "applied", le: "+Inf" })).toBe(2);
    expect(await value("varstream_sink_retries_total", { sink: "metrics-ok" })).toBe(0);
    expect(await value("varstream_sink_retries_total", { sink: "metrics-bad" })).toBe(options.maxRetries);
    expect(await value("varstream_sink_rollbacks_total", { sink: "metrics-bad" })).toBe(1);
    expect(await value("varstream_sink_keys_total", { sink: "metrics-bad" })).toBe(0);
  });
});
