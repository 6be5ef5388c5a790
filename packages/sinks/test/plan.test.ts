import type { KeySet } from "@varstream/shared";
import { makeKeySet } from "@varstream/testkit";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../src/contract.ts";
import { planAgainst, planApply, valueHash } from "../src/plan.ts";

const scope = { datasource: "redis", destination: "d", repo: "acme/c", file: "app.yaml" };

const keySet = (keys: KeySet["keys"], over: Partial<KeySet> = {}) =>
  makeKeySet(scope, keys, { task_id: "t2", commit: "c2", prune: { enabled: true, protection: ["keep.*"] }, ...over });

function manifest(keys: KeySet["keys"]): Manifest {
  return {
    commit: "c1",
    task_id: "t1",
    keys: Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, valueHash(v)])),
    report: { set: 0, unchanged: 0, pruned: 0 },
  };
}

describe("planApply", () => {
  const old = manifest({ a: 1, b: "x", gone: true, "keep.me": 1 });

  it("prunes and releases keys named like Object's own properties (own keys only)", () => {
    const before = manifest({ toString: "x", constructor: "y", valueOf: 1 });
    const plan = planApply({ scope, taskId: "t2", commit: "c2", keySet: keySet({ valueOf: 2 }) }, before);
    expect(plan.set).toEqual({ valueOf: 2 });
    expect(plan.stale.sort()).toEqual(["constructor", "toString"]);
    expect(plan.released.sort()).toEqual(["constructor", "toString"]);
  });

  it("sets new and changed keys, counts unchanged, prunes stale unprotected manifest keys", () => {
    const plan = planApply({ scope, taskId: "t2", commit: "c2", keySet: keySet({ a: 1, b: "y", c: 3 }) }, old);
    expect(plan.set).toEqual({ b: "y", c: 3 });
    expect(plan.unchanged).toEqual(["a"]);
    expect(plan.stale).toEqual(["gone"]);
    // A protected key leaves the manifest without being deleted: varstream no longer claims it.
    expect(plan.released.sort()).toEqual(["gone", "keep.me"]);
    expect(Object.keys(plan.manifest.keys).sort()).toEqual(["a", "b", "c"]);
    expect(plan.manifest.report).toEqual({ set: 2, unchanged: 1, pruned: 1 });
  });

  it("tells a number from the same text", () => {
    const plan = planApply({ scope, taskId: "t2", commit: "c2", keySet: keySet({ a: "1", b: "x" }) }, old);
    expect(plan.set).toEqual({ a: "1" });
  });

  it("upsert never deletes and keeps claiming old keys", () => {
    const plan = planApply(
      { scope, taskId: "t2", commit: "c2", keySet: keySet({ a: 2 }, { sync_mode: "upsert" }) },
      old,
    );
    expect(plan.stale).toEqual([]);
    expect(plan.released).toEqual([]);
    expect(Object.keys(plan.manifest.keys).sort()).toEqual(["a", "b", "gone", "keep.me"]);
  });

  it("repair writes every key even when the manifest says unchanged", () => {
    const plan = planApply(
      { scope, taskId: "t2", commit: "c2", keySet: keySet({ a: 1, b: "x" }, { sync_mode: "repair" }) },
      old,
    );
    expect(plan.set).toEqual({ a: 1, b: "x" });
    expect(plan.unchanged).toEqual([]);
  });

  it("a tombstone prunes every manifest key and leaves a deleted manifest", () => {
    const plan = planApply({ scope, taskId: "t3", commit: "c3", keySet: null }, old);
    expect(plan.stale.sort()).toEqual(["a", "b", "gone", "keep.me"]);
    expect(plan.manifest).toMatchObject({ deleted: true, keys: {}, task_id: "t3" });
  });

  it("without a manifest, sets everything and prunes nothing", () => {
    const plan = planApply({ scope, taskId: "t1", commit: "c1", keySet: keySet({ a: 1 }) }, null);
    expect(plan).toMatchObject({ set: { a: 1 }, unchanged: [], stale: [] });
  });

  it("with claims: a claimed new key is contested and warned, a claimed stale key is kept", async () => {
    const other = { scope: "redis|d|acme/c:other.yaml", manifest: manifest({ c: 3, gone: true }) };
    const asked: string[][] = [];
    const sink = {
      claims: async (_scope: unknown, keys: string[]) => {
        asked.push(keys);
        return Object.fromEntries(keys.filter((k) => k === "c" || k === "gone").map((k) => [k, other]));
      },
    };
    const { plan } = await planAgainst(
      sink,
      { scope, taskId: "t2", commit: "c2", keySet: keySet({ a: 1, b: "y", c: 3 }) },
      old,
    );
    // Only keys claimed anew (c) and dropped (gone) are asked about; a changed value (b) is not.
    expect(asked).toEqual([["c", "gone"]]);
    expect(plan.contested).toEqual(["c"]);
    expect(plan.stale).toEqual([]);
    expect(plan.warnings).toEqual([`conflict: c at d is also claimed by ${other.scope}; this commit wins`]);
    expect(plan.manifest.report).toMatchObject({ pruned: 0, warnings: plan.warnings });
  });

  it("a repair asks about every key, and leaves one a newer scope took over as that scope wrote it", async () => {
    // b moved to other.yaml (version 300) after this scope's state (version 200) was read for a repair.
    const other = { scope: "redis|d|acme/c:other.yaml", manifest: { ...manifest({ b: "z" }), version: 300 } };
    const asked: string[][] = [];
    const sink = {
      claims: async (_scope: unknown, keys: string[]) => {
        asked.push(keys);
        return Object.fromEntries(keys.filter((k) => k === "b").map((k) => [k, other]));
      },
    };
    const stale = { ...old, version: 200 };
    const { plan } = await planAgainst(
      sink,
      {
        scope,
        taskId: "r",
        commit: "c1",
        version: 200,
        keySet: keySet({ a: 1, b: "x", gone: true, "keep.me": 1 }, { sync_mode: "repair" }),
      },
      stale,
    );
    expect(asked).toEqual([["a", "b", "gone", "keep.me"]]);
    expect(Object.keys(plan.set).sort()).toEqual(["a", "gone", "keep.me"]);
    expect(plan.contested).toEqual([]);
    expect(plan.warnings).toEqual([`conflict: b at d is also claimed by ${other.scope}, whose newer version keeps it`]);
    // An equal or unknown version: this apply wins, as before.
    const same = await planAgainst(
      sink,
      { scope, taskId: "r", commit: "c1", version: 300, keySet: keySet({ a: 1, b: "x" }, { sync_mode: "repair" }) },
      stale,
    );
    expect(same.plan.contested).toEqual(["b"]);
    expect(same.plan.set).toHaveProperty("b", "x");
  });

  it("asks nothing when the apply only changes values", async () => {
    let asked = 0;
    const sink = {
      claims: async () => {
        asked++;
        return {};
      },
    };
    await planAgainst(
      sink,
      { scope, taskId: "t2", commit: "c2", keySet: keySet({ a: 2, b: "x", gone: true, "keep.me": 1 }) },
      old,
    );
    expect(asked).toBe(0);
  });
});
