import { randomUUID } from "node:crypto";
import zookeeper from "node-zookeeper-client";
import { describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, desiredAt as desired, noRetry as once } from "../testing.ts";

/** The bundle fields a user of the store expects for credentials and TLS, against a real server. */

describe("zookeeper with digest authentication", () => {
  const connect = `127.0.0.1:${process.env.ZK_PORT ?? 32181}`;
  const root = `/auth-${randomUUID().slice(0, 8)}`;
  const raw = (auth?: string) =>
    new Promise<ReturnType<typeof zookeeper.createClient>>((resolve) => {
      const client = zookeeper.createClient(connect);
      if (auth) client.addAuthInfo("digest", Buffer.from(auth));
      client.once("connected", () => resolve(client));
      client.connect();
    });
  const setData = (client: ReturnType<typeof zookeeper.createClient>, path: string, value: string) =>
    new Promise<void>((resolve, reject) =>
      client.setData(path, Buffer.from(value), (err) => (err ? reject(err) : resolve())),
    );

  it("creates znodes only its user may change and everyone may read", async () => {
    process.env.VS_TEST_ZK_PASSWORD = "zk-s3cret";
    const config = {
      connect,
      root,
      encoding: "text" as const,
      username: "varstream",
      password: { env: "VS_TEST_ZK_PASSWORD" },
    };
    const sink = await connectSink("zookeeper", "zookeeper", config, deps);
    const first = await applyDesired(sink, desired("zookeeper", "prod/app", { "db.port": 5432 }), once);
    expect(first).toMatchObject({ outcome: "applied", set: 1 });
    const path = `${root}/prod/app/db/port`;

    const anonymous = await raw();
    const data = await new Promise<string>((resolve, reject) =>
      anonymous.getData(path, (err, d) => (err ? reject(err) : resolve(d.toString()))),
    );
    expect(data).toBe("5432");
    await expect(setData(anonymous, path, "1")).rejects.toThrow(/NO_AUTH/);
    anonymous.close();

    const same = await raw("varstream:zk-s3cret");
    await setData(same, path, "6000");
    same.close();
    // The sink itself updates what it created, after reconnecting with its credentials.
    const again = await applyDesired(sink, desired("zookeeper", "prod/app", { "db.port": 7000 }), once);
    expect(again).toMatchObject({ outcome: "applied", set: 1 });
    expect(await sink.readValues("prod/app", ["db.port"])).toEqual({ "db.port": "7000" });
    await sink.close();
  });
});
