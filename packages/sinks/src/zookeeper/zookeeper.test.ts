import { randomUUID } from "node:crypto";
import { delay, type Scope } from "@varstream/shared";
import { CutProxy, desiredOf, waitFor } from "@varstream/testkit";
import zookeeper from "node-zookeeper-client";
import { describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, retryOnce as options } from "../testing.ts";

const desired = desiredOf;

describe("zookeeper sink against a real ZooKeeper", () => {
  const connect = `127.0.0.1:${process.env.ZK_PORT ?? 32181}`;
  const root = `/vs-${randomUUID().slice(0, 8)}`;

  it("stores JSON with encoding json, a znode per key", async () => {
    const json = await connectSink("zookeeper", "zookeeper", { connect, encoding: "json", root }, deps);
    const scope: Scope = { datasource: "zookeeper", destination: "prod/app", repo: "acme/c", file: "app.yaml" };
    await applyDesired(json, desired(keySet(scope, "t1", { "db.port": 5432, on: true })), options);
    const values = await json.readValues("prod/app", ["db.port", "on"]);
    expect(values).toEqual({ "db.port": "5432", on: "true" });
    // The znodes as a user reads them (README.md beside this file).
    const raw = zookeeper.createClient(connect);
    await new Promise<void>((resolve) => {
      raw.once("connected", () => resolve());
      raw.connect();
    });
    const data = await new Promise<string>((resolve, reject) =>
      raw.getData(`${root}/prod/app/db/port`, (err, d) => (err ? reject(err) : resolve(d.toString("utf8")))),
    );
    expect(data).toBe("5432");
    raw.close();
    await json.close();
  });

  it("writes an absolute destination (varTrack's /app/{env}) at that path under the root, / included", async () => {
    const top = `/vs-abs-${randomUUID().slice(0, 8)}`;
    const sink = await connectSink("zookeeper", "zookeeper", { connect, root: "/" }, deps);
    const scope: Scope = { datasource: "zookeeper", destination: `${top}/production/`, repo: "acme/c", file: "a.yaml" };
    expect(await applyDesired(sink, desired(keySet(scope, "t1", { "db.host": "h" })), options)).toMatchObject({
      outcome: "applied",
      set: 1,
    });
    const raw = zookeeper.createClient(connect);
    await new Promise<void>((resolve) => {
      raw.once("connected", () => resolve());
      raw.connect();
    });
    const data = await new Promise<string>((resolve, reject) =>
      raw.getData(`${top}/production/db/host`, (err, d) => (err ? reject(err) : resolve(d.toString("utf8")))),
    );
    expect(data).toBe("h");
    raw.close();
    await sink.close();
  });

  it("takes /app and app for one destination: two files claiming a key there are told, and neither prunes the other's", async () => {
    const top = `vs-same-${randomUUID().slice(0, 8)}`;
    const sink = await connectSink("zookeeper", "zookeeper", { connect, root: "/" }, deps);
    const a: Scope = { datasource: "zookeeper", destination: `/${top}/app`, repo: "acme/c", file: "a.yaml" };
    const b: Scope = { datasource: "zookeeper", destination: `${top}/app/`, repo: "acme/c", file: "b.yaml" };
    await applyDesired(sink, desired(keySet(a, "ta", { shared: 1, own: 1 })), options);
    const second = await applyDesired(sink, desired(keySet(b, "tb", { shared: 2 })), options);
    expect(second.warnings?.join()).toMatch(/conflict: shared/);
    // a drops the shared key: b still claims it, so it stays
    await applyDesired(sink, desired(keySet(a, "ta2", { own: 1 })), options);
    expect(await sink.readValues(`${top}/app`, ["shared", "own"])).toEqual({ shared: "2", own: "1" });
    await sink.close();
  });

  it("takes a new session after an outage longer than the session timeout, and applies again", async () => {
    const proxy = await CutProxy.start({ port: Number(process.env.ZK_PORT ?? 32181) });
    const sink = await connectSink("zookeeper", "zookeeper", { connect: `127.0.0.1:${proxy.port}`, root }, deps);
    try {
      const scope: Scope = { datasource: "zookeeper", destination: "prod/expiry", repo: "acme/c", file: "e.yaml" };
      expect((await applyDesired(sink, desired(keySet(scope, "e1", { a: 1 })), options)).outcome).toBe("applied");
      proxy.down();
      await delay(12_000); // the outage itself: longer than the 10 s session, so the server ends it
      proxy.up();
      const report = await waitFor(
        async () => {
          const r = await applyDesired(sink, desired(keySet(scope, "e2", { a: 2 })), options);
          return r.outcome === "applied" ? r : undefined;
        },
        { timeoutMs: 30_000, what: "an apply on a new session" },
      );
      expect(report.set).toBe(1);
      expect(await sink.readValues("prod/expiry", ["a"])).toEqual({ a: "2" });
    } finally {
      await sink.close();
      await proxy.close();
    }
  }, 60_000);
});
