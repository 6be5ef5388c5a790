import { readFileSync } from "node:fs";
import { TestServer } from "@varstream/testkit";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, desiredAt as desired, noRetry as once } from "../testing.ts";

/** The bundle fields a user of the store expects for credentials and TLS, against a real server. */

describe("etcd over TLS with authentication on", () => {
  let server: TestServer;
  let root: Etcd3;
  const hosts = () => [`https://127.0.0.1:${server.port}`];

  beforeAll(async () => {
    server = await TestServer.etcd({ tls: true });
    const credentials = { rootCertificate: readFileSync(server.ca) };
    const setup = new Etcd3({ hosts: hosts(), credentials });
    await setup.role("root").create();
    await setup.user("root").create("rootpw");
    await setup.user("root").addRole("root");
    await setup.auth.authEnable();
    setup.close();
    root = new Etcd3({ hosts: hosts(), credentials, auth: { username: "root", password: "rootpw" } });
  });
  afterAll(async () => {
    root?.close();
    await server?.stop();
  });

  it("writes with username and password over https, and refuses a wrong password", async () => {
    const config = (password: string) => ({
      hosts: hosts(),
      username: "root",
      password,
      tls_ca: { file: server.ca },
      prefix: "",
    });
    const sink = await connectSink("etcd", "etcd", config("rootpw"), deps);
    expect(await applyDesired(sink, desired("etcd", "prod/app", { "db.host": "h" }), once)).toMatchObject({
      outcome: "applied",
      set: 1,
    });
    expect(await root.get("prod/app/db/host").string()).toBe("h");
    await sink.close();

    const wrong = await connectSink("etcd", "etcd", config("nope"), deps);
    const refused = await applyDesired(wrong, desired("etcd", "prod/other", { a: 1 }), once);
    expect(refused).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(refused.error).toMatch(/authentication failed|invalid/i);
    expect(await root.get("prod/other/a").string()).toBeNull();
    await wrong.close();
  });
});
