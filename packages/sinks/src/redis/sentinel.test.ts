import { TestServer, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, desiredAt as desired, retryOnce } from "../testing.ts";

/**
 * A real Sentinel setup: a master, a replica and a sentinel (redis-server in both roles). The sink finds
 * the master through the sentinel, and after a failover writes to the replica the sentinel promoted.
 */
describe("redis through Sentinel, across a failover", () => {
  let master: TestServer;
  let replica: TestServer;
  let sentinel: TestServer;
  const clients: Redis[] = [];
  const direct = (port: number) => {
    const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
    client.on("error", () => undefined); // the master's client, once the master is gone
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    master = await TestServer.redis();
    replica = await TestServer.redis({ replicaOf: master.port });
    sentinel = await TestServer.sentinel(master.port);
    const r = direct(replica.port);
    await waitFor(async () => (await r.info("replication")).includes("master_link_status:up"), {
      what: "the replica in sync",
    });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await sentinel?.stop();
    await replica?.stop();
    await master?.stop();
  });

  it("writes to the master the sentinel names, and to the promoted replica after the master dies", async () => {
    const sink = await connectSink(
      "redis",
      "redis",
      { sentinels: [`127.0.0.1:${sentinel.port}`], sentinel_master: "mymaster" },
      deps,
    );
    expect(await applyDesired(sink, desired("redis", "sentinel-app", { a: 1 }), retryOnce)).toMatchObject({
      outcome: "applied",
      set: 1,
    });
    expect(await direct(master.port).hgetall("sentinel-app")).toEqual({ a: "1" });
    const r = direct(replica.port);
    await waitFor(async () => (await r.hget("sentinel-app", "a")) === "1", { what: "the write replicated" });

    await master.stop();
    await waitFor(async () => (await r.info("replication")).includes("role:master"), {
      what: "the sentinel promoting the replica",
      timeoutMs: 30_000,
    });
    // The sink writer's own retries carry it over the switch (here: a few tries with backoff).
    const after = await applyDesired(sink, desired("redis", "sentinel-app", { a: 2 }), {
      ...retryOnce,
      maxRetries: 10,
      retryBaseMs: 200,
    });
    expect(after).toMatchObject({ outcome: "applied", set: 1 });
    expect(await r.hgetall("sentinel-app")).toEqual({ a: "2" });
    await sink.close();
  }, 60_000);
});
