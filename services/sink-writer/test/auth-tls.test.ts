import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLogger, type KeySet, type Scope, Secrets } from "@varstream/shared";
import { desiredOf, makeKeySet, TestServer } from "@varstream/testkit";
import { Etcd3 } from "etcd3";
import { Redis } from "ioredis";
import zookeeper from "node-zookeeper-client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply/apply.ts";
import { EtcdSink } from "../src/sinks/etcd/etcd-sink.ts";
import { PostgresSink } from "../src/sinks/postgres/postgres-sink.ts";
import { RedisSink } from "../src/sinks/redis/redis-sink.ts";
import { ZookeeperSink } from "../src/sinks/zookeeper/zookeeper-sink.ts";

/** The bundle fields a user of each store expects for credentials and TLS, against real servers. */

const logger = createLogger("test", "silent");
const once = { maxRetries: 0, retryBaseMs: 10, logger };

function desired(datasource: string, destination: string, keys: KeySet["keys"]) {
  const scope: Scope = { datasource, destination, repo: "acme/c", file: "app.yaml" };
  return desiredOf(makeKeySet(scope, keys, { task_id: randomUUID() }));
}

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
    const sink = await RedisSink.connect("redis", config(), new Secrets());
    const report = await applyDesired(sink, desired("redis", "tls-app", { a: 1 }), once);
    expect(report).toMatchObject({ outcome: "applied", set: 1 });
    expect(await direct.hgetall("tls-app")).toEqual({ a: "1" });
    await sink.close();
  });

  it("fails the scope, writing nothing, on a wrong password or an unverifiable certificate", async () => {
    process.env.VS_TEST_REDIS_WRONG = "nope";
    const wrong = await RedisSink.connect("redis", config({ password: { env: "VS_TEST_REDIS_WRONG" } }), new Secrets());
    const refused = await applyDesired(wrong, desired("redis", "tls-wrong", { a: 1 }), once);
    expect(refused).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(refused.error).toMatch(/not reachable .*WRONGPASS/);
    await wrong.close();
    const noCa = await RedisSink.connect("redis", config({ tls_ca: undefined }), new Secrets());
    const unverified = await applyDesired(noCa, desired("redis", "tls-wrong", { a: 1 }), once);
    expect(unverified.error).toMatch(/not reachable .*certificate/);
    await noCa.close();
    expect(await direct.exists("tls-wrong")).toBe(0);
  });
});

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
    const sink = await EtcdSink.connect("etcd", config("rootpw"), new Secrets());
    expect(await applyDesired(sink, desired("etcd", "prod/app", { "db.host": "h" }), once)).toMatchObject({
      outcome: "applied",
      set: 1,
    });
    expect(await root.get("prod/app/db/host").string()).toBe("h");
    await sink.close();

    const wrong = await EtcdSink.connect("etcd", config("nope"), new Secrets());
    const refused = await applyDesired(wrong, desired("etcd", "prod/other", { a: 1 }), once);
    expect(refused).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(refused.error).toMatch(/authentication failed|invalid/i);
    expect(await root.get("prod/other/a").string()).toBeNull();
    await wrong.close();
  });
});

describe("postgres over TLS, and with a password", () => {
  const port = Number(process.env.PG_PORT ?? 35432);
  const ca = process.env.PG_TLS_CA ?? `/tmp/varstream-postgres/test-${port}/tls/ca.crt`;
  const admin = new pg.Pool({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  const table = `tls_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const base = { host: "127.0.0.1", port, database: "postgres", table };

  beforeAll(async () => {
    // Roles the server's pg_hba.conf treats specially (infra/postgres/postgres.sh).
    await admin.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'varstream_tls') THEN CREATE ROLE varstream_tls LOGIN; END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'varstream_pw') THEN CREATE ROLE varstream_pw LOGIN; END IF;
    END $$`);
    await admin.query("ALTER ROLE varstream_pw PASSWORD 'pw-s3cret'");
    await admin.query("GRANT CREATE ON SCHEMA public TO varstream_tls, varstream_pw");
  });
  afterAll(() => admin.end());

  it("connects over TLS, verifying the server against ssl_ca; a role that needs TLS is refused without it", async () => {
    const sink = await PostgresSink.connect(
      "postgres",
      { ...base, user: "varstream_tls", ssl: true, ssl_ca: { file: ca } },
      new Secrets(),
    );
    expect(await applyDesired(sink, desired("postgres", "tls/app", { a: 1 }), once)).toMatchObject({
      outcome: "applied",
      set: 1,
    });
    await sink.close();
    const plain = await PostgresSink.connect("postgres", { ...base, user: "varstream_tls", ssl: false }, new Secrets());
    const refused = await applyDesired(plain, desired("postgres", "tls/plain", { a: 1 }), once);
    expect(refused.error).toMatch(/no encryption|rejects connection/);
    await plain.close();
    const rows = await admin.query(`SELECT destination, key FROM ${table} ORDER BY destination`);
    expect(rows.rows).toEqual([{ destination: "tls/app", key: "a" }]);
  });

  it("logs in with a password from a secret reference, and fails cleanly on a wrong one", async () => {
    process.env.VS_TEST_PG_PASSWORD = "pw-s3cret";
    const pwTable = `${table}_pw`;
    const sink = await PostgresSink.connect(
      "postgres",
      { ...base, table: pwTable, user: "varstream_pw", password: { env: "VS_TEST_PG_PASSWORD" }, ssl: false },
      new Secrets(),
    );
    expect(await applyDesired(sink, desired("postgres", "pw/app", { a: 1 }), once)).toMatchObject({
      outcome: "applied",
    });
    await sink.close();
    const wrong = await PostgresSink.connect(
      "postgres",
      { ...base, table: pwTable, user: "varstream_pw", password: "wrong", ssl: false },
      new Secrets(),
    );
    const refused = await applyDesired(wrong, desired("postgres", "pw/wrong", { a: 1 }), once);
    expect(refused.error).toMatch(/password authentication failed for user "varstream_pw"/);
    await wrong.close();
  });
});

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
    const sink = await ZookeeperSink.connect("zookeeper", config, new Secrets());
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
