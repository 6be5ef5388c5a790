import { readFileSync } from "node:fs";
import { TestServer } from "@varstream/testkit";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, desiredAt as desired, noRetry as once } from "../testing.ts";

/** The bundle fields a user of the store expects for credentials and TLS, against a real server. */

describe("mongo over TLS with authentication on", () => {
  let server: TestServer;
  let direct: MongoClient;
  // Credentials come from the environment, as a bundle would name them.
  process.env.VS_TEST_MONGO_PASSWORD = "s3cret";
  const config = (extra: object = {}) => ({
    uri: `mongodb://127.0.0.1:${server.port}/`,
    username: "varstream",
    password: { env: "VS_TEST_MONGO_PASSWORD" },
    auth_source: "admin",
    tls: true,
    tls_ca: { file: server.ca },
    database: "app",
    collection: "configs",
    ...extra,
  });
  const stored = (destination: string) => direct.db("app").collection("configs").find({ destination }).toArray();

  beforeAll(async () => {
    server = await TestServer.mongo({ tls: true, user: ["varstream", "s3cret"] });
    direct = new MongoClient(`mongodb://127.0.0.1:${server.port}/`, {
      tls: true,
      ca: readFileSync(server.ca, "utf8"),
      auth: { username: "varstream", password: "s3cret" },
      serverSelectionTimeoutMS: 5000,
    });
  });
  afterAll(async () => {
    await direct?.close();
    await server?.stop();
  });

  it("writes with username, password and a private CA", async () => {
    const sink = await connectSink("mongo", "mongo", config(), deps);
    const report = await applyDesired(sink, desired("mongo", "tls-app", { "db.host": "h", port: 5432 }), once);
    expect(report).toMatchObject({ outcome: "applied", set: 2 });
    expect((await stored("tls-app")).map(({ key, value }) => [key, value])).toEqual(
      expect.arrayContaining([
        ["db.host", "h"],
        ["port", 5432],
      ]),
    );
    await sink.close();
  });

  it("fails the scope, writing nothing, on a wrong password or an unverifiable certificate", async () => {
    process.env.VS_TEST_MONGO_WRONG = "nope";
    const wrong = await connectSink("mongo", "mongo", config({ password: { env: "VS_TEST_MONGO_WRONG" } }), deps);
    const refused = await applyDesired(wrong, desired("mongo", "tls-wrong", { a: 1 }), once);
    expect(refused).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(refused.error).toMatch(/Authentication failed/);
    await wrong.close();
    const noCa = await connectSink("mongo", "mongo", config({ tls_ca: undefined }), deps);
    const unverified = await applyDesired(noCa, desired("mongo", "tls-wrong", { a: 1 }), once);
    expect(unverified).toMatchObject({ outcome: "failed" });
    expect(unverified.error).toMatch(/certificate/);
    await noCa.close();
    expect(await stored("tls-wrong")).toEqual([]);
  });
});
