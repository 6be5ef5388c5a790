import { readFileSync } from "node:fs";
import { TestServer } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, desiredAt as desired, noRetry as once } from "../testing.ts";

/** The bundle fields a user of the store expects for credentials and TLS, against a real server. */

describe("redis over TLS with an ACL user", () => {
  let server: TestServer;
  let direct: Redis;
  // Credentials come from the environment, as a bundle would name them.
  process.env.VS_TEST_REDIS_PASSWORD = "s3cret";
  const config = (extra: object = {}) => ({
    host: "127.0.0.1",
    port: server.port,
    db: 2,
    tls: true,
    tls_ca: { file: server.ca },
    username: "varstream",
    password: { env: "VS_TEST_REDIS_PASSWORD" },
    layout: "hash" as const,
    ...extra,
  });

  beforeAll(async () => {
    server = await TestServer.redis({ tls: true, users: [["varstream", "on", ">s3cret", "~*", "&*", "+@all"]] });
    direct = new Redis({
      port: server.port,
      db: 2,
      username: "varstream",
      password: "s3cret",
      tls: { ca: readFileSync(server.ca) },
    });
  });
  afterAll(async () => {
    direct?.disconnect();
    await server?.stop();
  });

  it("writes with username, password, db and a private CA", async () => {
    const sink = await connectSink("redis", "redis", config(), deps);
    const report = await applyDesired(sink, desired("redis", "tls-app", { a: 1 }), once);
    expect(report).toMatchObject({ outcome: "applied", set: 1 });
    expect(await direct.hgetall("tls-app")).toEqual({ a: "1" });
    await sink.close();
  });

  it("fails the scope, writing nothing, on a wrong password or an unverifiable certificate", async () => {
    process.env.VS_TEST_REDIS_WRONG = "nope";
    const wrong = await connectSink("redis", "redis", config({ password: { env: "VS_TEST_REDIS_WRONG" } }), deps);
    const refused = await applyDesired(wrong, desired("redis", "tls-wrong", { a: 1 }), once);
    expect(refused).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(refused.error).toMatch(/not reachable .*WRONGPASS/);
    await wrong.close();
    const noCa = await connectSink("redis", "redis", config({ tls_ca: undefined }), deps);
    const unverified = await applyDesired(noCa, desired("redis", "tls-wrong", { a: 1 }), once);
    expect(unverified.error).toMatch(/not reachable .*certificate/);
    await noCa.close();
    expect(await direct.exists("tls-wrong")).toBe(0);
  });
});
