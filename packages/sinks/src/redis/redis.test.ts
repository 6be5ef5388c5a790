import { randomUUID } from "node:crypto";
import type { Scope } from "@varstream/shared";
import { desiredOf } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { MANIFEST_PREFIX } from "../redis/redis-sink.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, retryOnce as options } from "../testing.ts";

const REDIS_PORT = Number(process.env.REDIS_PORT ?? 36379);

const desired = desiredOf;

describe("redis sink (hash layout) against a real Redis", () => {
  const redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  afterAll(() => redis.disconnect());

  it("keeps its manifest beside the data and refuses to write into a key of another type", async () => {
    const sink = await connectSink(
      "redis",
      "redis",
      { host: "127.0.0.1", port: REDIS_PORT, db: 0, tls: false, layout: "hash" },
      deps,
    );
    const destination = `typed-${randomUUID().slice(0, 8)}`;
    await redis.connect().catch(() => undefined);
    await redis.set(destination, "a string");
    const scope: Scope = { datasource: "redis", destination, repo: "acme/c", file: "x.yaml" };
    const report = await applyDesired(sink, desired(keySet(scope, "t1", { a: 1 })), options);
    expect(report).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(report.error).toMatch(/not a hash/);
    expect(report.code).toBe("SINK_REFUSED");
    expect(await redis.get(destination)).toBe("a string");
    expect(await redis.exists(`${MANIFEST_PREFIX}redis|${destination}|acme/c:x.yaml`)).toBe(0);
    await sink.close();
  });
});

describe("redis sink, string layout (with TTL)", () => {
  const redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  afterAll(() => redis.disconnect());
  const config = {
    host: "127.0.0.1",
    port: REDIS_PORT,
    db: 0,
    tls: false,
    layout: "string" as const,
    ttl_seconds: 3600,
  };

  it("sets the TTL on every key it writes", async () => {
    const sink = await connectSink("redis", "redis", config, deps);
    const destination = `ttl-${randomUUID().slice(0, 8)}`;
    const scope: Scope = { datasource: "redis", destination, repo: "acme/c", file: "x.yaml" };
    await applyDesired(sink, desired(keySet(scope, "t1", { a: 1 })), options);
    expect(await redis.get(`${destination}:a`)).toBe("1");
    const ttl = await redis.ttl(`${destination}:a`);
    expect(ttl).toBeGreaterThan(3500);
    await sink.close();
  });
});

describe("redis sink, json layout", () => {
  const redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  afterAll(() => redis.disconnect());
  const config = { host: "127.0.0.1", port: REDIS_PORT, db: 0, tls: false, layout: "json" as const };

  it("keeps types in the JSON value and refuses a key that does not hold a JSON object", async () => {
    const sink = await connectSink("redis", "redis", config, deps);
    const destination = `json-${randomUUID().slice(0, 8)}`;
    const scope: Scope = { datasource: "redis", destination, repo: "acme/c", file: "x.yaml" };
    await applyDesired(sink, desired(keySet(scope, "t1", { port: 80, on: true })), options);
    expect(JSON.parse((await redis.get(destination))!)).toEqual({ on: true, port: 80 });
    await redis.set(`${destination}-text`, "not json");
    const refused = await applyDesired(
      sink,
      desired(keySet({ ...scope, destination: `${destination}-text` }, "t2", { a: 1 })),
      options,
    );
    expect(refused.error).toMatch(/does not hold JSON/);
    expect(await redis.get(`${destination}-text`)).toBe("not json");
    await sink.close();
  });
});
