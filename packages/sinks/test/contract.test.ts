import { randomUUID } from "node:crypto";
import { type KeySet, type Scope, type SinkReport, scopeKey } from "@varstream/shared";
import { desiredOf, makeKeySet } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply.ts";
import { type Sink, StaleWriteError } from "../src/contract.ts";
import type { OpenStore } from "../src/fixture.ts";
import { planApply } from "../src/plan.ts";
import type { SinkKind } from "../src/registry.ts";
import { CASES, logger, openSink } from "./fixtures.ts";

/**
 * The contract every sink keeps, checked against its real store through its fixture
 * (`src/<kind>/fixture.ts`): every kind of the registry, in each of its variants.
 */

const options = { maxRetries: 1, retryBaseMs: 10, logger };

const keySet = (scope: Scope, taskId: string, keys: KeySet["keys"], protection: string[] = []) =>
  makeKeySet(scope, keys, { task_id: taskId, prune: { enabled: true, protection } });
const desired = desiredOf;

/** The same contract checks for every sink, against its real store. */
function sinkContract(kind: SinkKind, variant: string | undefined) {
  let sink: Sink;
  let store: OpenStore;
  const read = (destination: string) => store.view.read(destination);
  const plant = (destination: string, key: string, value: string) => store.view.plant(destination, key, value);
  const destination = `contract-${randomUUID().slice(0, 8)}`;
  const scopeA: Scope = { datasource: "s", destination, repo: "acme/c", file: "a.yaml" };
  const scopeB: Scope = { ...scopeA, file: "b.yaml" };

  beforeAll(async () => {
    ({ sink, store } = await openSink(kind, "s", variant === undefined ? {} : { variant }));
  });
  afterAll(async () => {
    await sink?.close();
    await store?.close();
  });

  it("writes a key set, and the same key set again changes nothing", async () => {
    const ks = keySet(scopeA, "t1", { "db.host": "h", "db.port": 5432, debug: false });
    expect(await applyDesired(sink, desired(ks), options)).toMatchObject({ outcome: "applied", set: 3, unchanged: 0 });
    expect(await read(destination)).toEqual({ "db.host": "h", "db.port": "5432", debug: "false" });
    const again = keySet(scopeA, "t2", { "db.host": "h", "db.port": 5432, debug: false });
    expect(await applyDesired(sink, desired(again), options)).toMatchObject({ set: 0, unchanged: 3, pruned: 0 });
  });

  it("never writes over the apply of a later keysets record: refused inside apply, nothing written", async () => {
    const fenced = `${destination}-fence`;
    const scope: Scope = { ...scopeA, destination: fenced, file: "f.yaml" };
    const at = (offset: number, partition = 0) => ({ partition, offset });
    const newer = { ...desired(keySet(scope, "f2", { v: "new" })), position: at(20) };
    expect(await applyDesired(sink, newer, options)).toMatchObject({ outcome: "applied", set: 1 });
    // Plans made before the newer apply landed (against no manifest), by a writer that then paused:
    // one from an older record, one from the same record. The store refuses both, atomically.
    const older = { ...desired(keySet(scope, "f1", { v: "old", extra: 1 })), position: at(10) };
    await expect(sink.apply(planApply(older, null))).rejects.toBeInstanceOf(StaleWriteError);
    const same = { ...desired(keySet(scope, "f2", { v: "new", extra: 2 })), position: at(20) };
    await expect(sink.apply(planApply(same, null))).rejects.toBeInstanceOf(StaleWriteError);
    expect(await read(fenced)).toEqual({ v: "new" });
    // Through applyDesired: reported as applied with nothing written, and the caller is told.
    const stale: StaleWriteError[] = [];
    expect(await applyDesired(sink, older, { ...options, onStale: (err) => stale.push(err) })).toMatchObject({
      outcome: "applied",
      set: 0,
      warnings: [expect.stringMatching(/^superseded: .* already holds keysets record 0@20/)],
    });
    expect(stale).toHaveLength(1);
    expect(await read(fenced)).toEqual({ v: "new" });
    // A later record applies; a record of another partition (the partition count changed) is not compared.
    expect(
      await applyDesired(sink, { ...desired(keySet(scope, "f3", { v: "later" })), position: at(21) }, options),
    ).toMatchObject({ set: 1 });
    expect(
      await applyDesired(sink, { ...desired(keySet(scope, "f4", { v: "moved" })), position: at(0, 1) }, options),
    ).toMatchObject({ set: 1 });
    expect(await read(fenced)).toEqual({ v: "moved" });
  });

  it("never goes backwards: a lower version is refused at any position, a higher one applies, equal ones follow the topic", async () => {
    const scope: Scope = { ...scopeA, destination: `${destination}-versions`, file: "v.yaml" };
    const at = (offset: number) => ({ partition: 0, offset });
    const push = { ...desired(keySet(scope, "v2", { v: "push" })), position: at(5), version: 2_000 };
    expect(await applyDesired(sink, push, options)).toMatchObject({ outcome: "applied", set: 1 });
    // A resync that read the scope before that push re-emits the older state at a later offset.
    const resync = { ...desired(keySet(scope, "r1", { v: "before-push" })), position: at(9), version: 1_000 };
    await expect(sink.apply(planApply(resync, null))).rejects.toBeInstanceOf(StaleWriteError);
    expect(await applyDesired(sink, resync, options)).toMatchObject({
      set: 0,
      warnings: [expect.stringMatching(/^superseded: .* already holds version 2000; refusing the older version 1000/)],
    });
    expect(await read(`${destination}-versions`)).toEqual({ v: "push" });
    expect(await sink.readManifest(scope)).toMatchObject({ task_id: "v2", version: 2_000 });
    // The same version again at a later offset (a repair of what was read) applies; at an older one not.
    const repair = { ...desired(keySet(scope, "r2", { v: "push" })), position: at(12), version: 2_000 };
    expect(await applyDesired(sink, repair, options)).toMatchObject({ outcome: "applied", warnings: [] });
    const zombie = { ...desired(keySet(scope, "z", { v: "zombie" })), position: at(11), version: 2_000 };
    await expect(sink.apply(planApply(zombie, null))).rejects.toBeInstanceOf(StaleWriteError);
    // A higher version applies even from an older offset: its state is newer than what a resync re-emitted.
    const later = { ...desired(keySet(scope, "v3", { v: "later" })), position: at(10), version: 3_000 };
    expect(await applyDesired(sink, later, options)).toMatchObject({ outcome: "applied", set: 1 });
    // A tombstone carries its version too: an older deletion does not remove the newer state.
    const oldDelete = { scope, taskId: "d1", commit: "c-d1", keySet: null, position: at(13), version: 2_500 };
    expect(await applyDesired(sink, oldDelete, options)).toMatchObject({ set: 0, pruned: 0 });
    expect(await read(`${destination}-versions`)).toEqual({ v: "later" });
    const newDelete = { scope, taskId: "d2", commit: "c-d2", keySet: null, position: at(14), version: 4_000 };
    expect(await applyDesired(sink, newDelete, options)).toMatchObject({ pruned: 1 });
    expect(await read(`${destination}-versions`)).toEqual({});
  });

  it("a redelivered key set of an applied task reports the first apply and writes nothing", async () => {
    const ks = keySet(scopeA, "t3", { "db.host": "h2", "db.port": 5432, debug: false });
    const first = await applyDesired(sink, desired(ks), options);
    const second = await applyDesired(sink, desired(ks), options);
    expect(first).toMatchObject({ set: 1, unchanged: 2 });
    expect(second).toMatchObject({ set: 1, unchanged: 2, pruned: 0 });
  });

  it("prunes exactly the stale keys; protected keys, other scopes' keys and keys written by others survive", async () => {
    await applyDesired(sink, desired(keySet(scopeB, "t4", { "b.only": 1 })), options);
    await plant(destination, "manual.flag", "by-hand");
    // An edit by somebody else is not mistaken for an apply that did not land.
    expect(await sink.readManifest(scopeB)).toMatchObject({ task_id: "t4" });
    const ks = keySet(scopeA, "t5", { "db.host": "h2", "local.override": "x" }, ["local.*"]);
    await applyDesired(sink, desired(ks), options);
    const pruned = keySet(scopeA, "t6", { "db.host": "h2" }, ["local.*"]);
    expect(await applyDesired(sink, desired(pruned), options)).toMatchObject({ set: 0, unchanged: 1, pruned: 0 });
    expect(await read(destination)).toEqual({
      "db.host": "h2",
      "local.override": "x",
      "b.only": "1",
      "manual.flag": "by-hand",
    });
  });

  it("reports a key claimed by two files of one destination as a conflict; the later apply wins", async () => {
    const notices: SinkReport[] = [];
    const report = await applyDesired(sink, desired(keySet(scopeB, "t6b", { "b.only": 1, "db.host": "from-b" })), {
      ...options,
      onConflict: (notice) => notices.push(notice),
    });
    expect(report.warnings).toEqual([
      `conflict: db.host at ${destination} is also claimed by ${scopeKey(scopeA)}; this commit wins`,
    ]);
    // The task that last applied A hears of it too: its own report, re-issued with the warning.
    expect(notices).toEqual([
      expect.objectContaining({
        task_id: "t6",
        scope: scopeKey(scopeA),
        outcome: "applied",
        set: 0,
        unchanged: 1,
        pruned: 0,
        commit: "commit-t6",
        warnings: [
          `conflict: db.host at ${destination} is also claimed by ${scopeKey(scopeB)}, whose later commit wins`,
        ],
      }),
    ]);
    expect((await read(destination))["db.host"]).toBe("from-b");
    // B drops the key: A still claims it, so it is not pruned.
    const dropped = await applyDesired(sink, desired(keySet(scopeB, "t6c", { "b.only": 1 })), options);
    expect(dropped).toMatchObject({ pruned: 0 });
    expect((await read(destination))["db.host"]).toBe("from-b");
  });

  it("a tombstone removes the scope's keys only", async () => {
    const report = await applyDesired(sink, { scope: scopeA, taskId: "t7", commit: "c7", keySet: null }, options);
    expect(report).toMatchObject({ outcome: "applied", set: 0, pruned: 1 });
    expect(await read(destination)).toEqual({ "local.override": "x", "b.only": "1", "manual.flag": "by-hand" });
  });
}

for (const [label, kind, variant] of CASES) {
  describe(`${label} sink contract against its real store`, () => sinkContract(kind, variant));
}
