import { randomUUID } from "node:crypto";
import type { Scope } from "@varstream/shared";
import { desiredOf } from "@varstream/testkit";
import { Etcd3 } from "etcd3";
import { afterAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, retryOnce as options } from "../testing.ts";

const desired = desiredOf;

describe("etcd sink against a real etcd (v3)", () => {
  const ETCD = `http://127.0.0.1:${process.env.ETCD_PORT ?? 32379}`;
  const prefix = `vs-${randomUUID().slice(0, 8)}/`;
  const client = new Etcd3({ hosts: [ETCD] });
  afterAll(() => client.close());
  const connect = () => connectSink("etcd", "etcd", { hosts: [ETCD], prefix }, deps);

  it("lays keys out as its README says, and splits a large apply within etcd's op limit", async () => {
    const sink = await connect();
    const scope: Scope = { datasource: "etcd", destination: "prod/app", repo: "acme/c", file: "app.yaml" };
    const keys: Record<string, number | string> = { "db.host": "h", "dotted\\.name": "x" };
    for (let i = 0; i < 300; i++) keys[`bulk.k${i}`] = i;
    const report = await applyDesired(sink, desired(keySet(scope, "t1", keys)), options);
    expect(report).toMatchObject({ outcome: "applied", set: 302 });
    expect(await client.get(`${prefix}prod/app/db/host`).string()).toBe("h");
    expect(await client.get(`${prefix}prod/app/dotted.name`).string()).toBe("x");
    expect(await client.get(`${prefix}prod/app/bulk/k299`).string()).toBe("299");
    const manifest = JSON.parse((await client.get(`${prefix}__varstream__/etcd|prod/app|acme/c:app.yaml`).string())!);
    expect(Object.keys(manifest.keys)).toHaveLength(302);
    const pruned = await applyDesired(sink, desired(keySet(scope, "t2", { "db.host": "h" })), options);
    expect(pruned).toMatchObject({ set: 0, unchanged: 1, pruned: 301 });
    expect(Object.keys(await client.getAll().prefix(`${prefix}prod/app/`).strings())).toEqual([
      `${prefix}prod/app/db/host`,
    ]);
    await sink.close();
  });
});
