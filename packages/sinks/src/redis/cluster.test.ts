import { type Scope, scopeKey } from "@varstream/shared";
import { desiredOf, TestServer } from "@varstream/testkit";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, noRetry as once } from "../testing.ts";
import { RedisSinkConfig } from "./config.ts";

/**
 * A real Redis Cluster of three masters: each apply's script runs on the node of its destination's slot
 * (the manifest and claims hashes are tagged with the destination), destinations spread over the nodes.
 */
describe("redis cluster", () => {
  let nodes: TestServer[];
  let direct: Cluster;
  const config = () => ({ cluster_nodes: [`127.0.0.1:${nodes[0]!.port}`] });
  const scope = (destination: string, file = "app.yaml"): Scope => ({
    datasource: "redis",
    destination,
    repo: "acme/c",
    file,
  });

  beforeAll(async () => {
    nodes = await TestServer.redisCluster(3);
    direct = new Cluster([{ host: "127.0.0.1", port: nodes[0]!.port }]);
  }, 60_000);
  afterAll(async () => {
    direct?.disconnect();
    for (const node of nodes ?? []) await node.stop();
  });

  it("writes, prunes and reports conflicts at destinations on every node", async () => {
    const sink = await connectSink("redis", "redis", config(), deps);
    const destinations = Array.from({ length: 12 }, (_, i) => `prod/app-${i}`);
    for (const d of destinations) {
      const report = await applyDesired(sink, desiredOf(keySet(scope(d), `t1-${d}`, { a: 1, b: "x" })), once);
      expect(report, report.error).toMatchObject({ outcome: "applied", set: 2 });
    }
    // the destinations live on more than one node
    const held = await Promise.all(
      nodes.map(async (node) => {
        const client = new Redis({ port: node.port });
        const keys = await client.keys("prod/app-*");
        client.disconnect();
        return keys.length;
      }),
    );
    expect(held.reduce((a, b) => a + b, 0)).toBe(12);
    expect(held.filter((n) => n > 0).length).toBeGreaterThan(1);
    for (const d of destinations) expect(await direct.hgetall(d)).toEqual({ a: "1", b: "x" });
    // the manifest sits in the destination's slot
    const manifest = await direct.hget(`__varstream__:{prod/app-0}:${scopeKey(scope("prod/app-0"))}`, "__meta__");
    expect(JSON.parse(manifest!)).toMatchObject({ task_id: "t1-prod/app-0" });

    // prune
    expect(await applyDesired(sink, desiredOf(keySet(scope("prod/app-0"), "t2", { a: 2 })), once)).toMatchObject({
      set: 1,
      pruned: 1,
    });
    expect(await direct.hgetall("prod/app-0")).toEqual({ a: "2" });
    // a second file of one destination claiming a key: the later apply wins, both are told
    const other = await applyDesired(sink, desiredOf(keySet(scope("prod/app-0", "other.yaml"), "t3", { a: 3 })), once);
    expect(other.warnings?.join()).toMatch(/conflict: a/);
    expect(await direct.hget("prod/app-0", "a")).toBe("3");
    await sink.close();
  });

  it("refuses a destination whose braces would move it to another slot, and layouts spread over slots", async () => {
    const sink = await connectSink("redis", "redis", config(), deps);
    const refused = await applyDesired(sink, desiredOf(keySet(scope("prod/{x}"), "t1", { a: 1 })), once);
    expect(refused).toMatchObject({ outcome: "failed", code: "SINK_REFUSED" });
    await sink.close();
    expect(RedisSinkConfig.safeParse({ ...config(), layout: "string" }).success).toBe(false);
  });
});
