import { randomUUID } from "node:crypto";
import type { FlatValue, Scope } from "@varstream/shared";
import { CutProxy, desiredOf, makeKeySet, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply.ts";
import type { Sink } from "../src/contract.ts";
import type { OpenStore, OutageSpec } from "../src/fixture.ts";
import type { SinkKind } from "../src/registry.ts";
import { FIXTURES, logger, openSink } from "./fixtures.ts";

/**
 * Against every real server: the server goes away in the middle of an apply (a proxy between sink and
 * server cuts the connection inside the request); afterwards nothing half-written remains, and once the
 * server is back the next attempt converges. Each sink's fixture says how its apply can be seen cut
 * (`outage` in `src/<kind>/fixture.ts`); a sink without a connection (file) has its own crash test.
 */

const once = { maxRetries: 0, retryBaseMs: 10, logger };
const MARKER = "CUTHERE";

/** 300 keys: more than one etcd transaction holds, so the etcd apply is split into parts. */
function keys(version: string, big = false): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  const pad = big ? "x".repeat(200) : "";
  for (let i = 0; i < 300; i++) out[`app.k${String(i).padStart(3, "0")}`] = `${version}-${i}${pad}`;
  out[`${version}.only`] = version;
  return out;
}

function desired(scope: Scope, taskId: string, values: Record<string, FlatValue>) {
  return desiredOf(makeKeySet(scope, values, { task_id: taskId, commit: `c-${randomUUID().slice(0, 8)}` }));
}

const text = (values: Record<string, FlatValue>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));

function outageContract(kind: SinkKind, spec: OutageSpec) {
  let sink: Sink;
  let store: OpenStore;
  let proxy: CutProxy;
  const big = spec.big ?? false;
  const destination = `outage-${randomUUID().slice(0, 8)}`;
  const scope: Scope = { datasource: "s", destination, repo: "acme/c", file: "app.yaml" };
  beforeAll(async () => {
    ({ sink, store } = await openSink(kind, "s", {
      via: async (port) => {
        proxy = await CutProxy.start({ port });
        return proxy.port;
      },
    }));
  });
  afterAll(async () => {
    await sink?.close();
    await proxy?.close();
    await store?.close();
  });

  it("cut off mid-apply: rolled back whole, and converges once the server is back", async () => {
    const { read, manifestTask } = store.view;
    const v1 = keys("v1", big);
    expect(await applyDesired(sink, desired(scope, "t1", v1), once)).toMatchObject({ outcome: "applied", set: 301 });
    expect(await read(destination)).toEqual(text(v1));

    const v2 = keys("v2", big);
    const cut = proxy.cut(spec.afterBytes === undefined ? { marker: MARKER } : { afterBytes: spec.afterBytes });
    const failed = await applyDesired(sink, desired(scope, `t2-${MARKER}`, v2), once);
    await cut;
    expect(failed).toMatchObject({ outcome: "failed", rolled_back: true, set: 0 });
    // Retryable: the sink writer retries it, with backoff, until the server is back (test/e2e/sink-outage).
    expect(failed.code).toBe("SINK_UNAVAILABLE");

    // While the server is away, a transactional store shows the old state whole; a split one may hold
    // the parts that landed before the cut — it is restored when the server is back.
    const during = await read(destination);
    if (spec.atomic) expect(during).toEqual(text(v1));
    else expect(during).not.toEqual(text(v1)); // proof that the cut fell in the middle
    await spec.midway?.(store.view, scope, `t2-${MARKER}`);

    proxy.up();
    // The next read of the scope's manifest, once the sink reaches the server again, restores it.
    const restored = await waitFor(() => sink.readManifest(scope).catch(() => undefined), {
      what: "the sink reaching the server again",
    });
    expect(restored).toMatchObject({ task_id: "t1" });
    expect(await read(destination)).toEqual(text(v1));
    expect(await manifestTask(scope)).toBe("t1");
    expect((await store.leftovers?.()) ?? []).toEqual([]);

    const again = await applyDesired(sink, desired(scope, "t3", v2), once);
    expect(again).toMatchObject({ outcome: "applied", set: 301, pruned: 1, unchanged: 0 });
    expect(await read(destination)).toEqual(text(v2));
    expect(await manifestTask(scope)).toBe("t3");
  });
}

for (const [kind, fixture] of FIXTURES) {
  if (fixture.outage)
    describe(`${kind}: server gone in the middle of an apply`, () => outageContract(kind, fixture.outage!));
}
