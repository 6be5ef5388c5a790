import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createLogger,
  flatten,
  type KeySet,
  registry,
  type Scope,
  Secrets,
  type SinkReport,
  scopeKey,
  type Tree,
} from "@varstream/shared";
import { desiredOf, makeKeySet } from "@varstream/testkit";
import { Etcd3 } from "etcd3";
import { Redis } from "ioredis";
import zookeeper from "node-zookeeper-client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply/apply.ts";
import { EtcdSink } from "../src/sinks/etcd/etcd-sink.ts";
import { FileSink } from "../src/sinks/file/file-sink.ts";
import { PostgresSink } from "../src/sinks/postgres/postgres-sink.ts";
import { MANIFEST_PREFIX, RedisSink } from "../src/sinks/redis/redis-sink.ts";
import type { Sink } from "../src/sinks/sink.ts";
import { ZookeeperSink } from "../src/sinks/zookeeper/zookeeper-sink.ts";

const REDIS_PORT = Number(process.env.REDIS_PORT ?? 36379);
const logger = createLogger("test", "silent");
const options = { maxRetries: 1, retryBaseMs: 10, logger };

const keySet = (scope: Scope, taskId: string, keys: KeySet["keys"], protection: string[] = []) =>
  makeKeySet(scope, keys, { task_id: taskId, prune: { enabled: true, protection } });
const desired = desiredOf;

interface ContractSubject {
  sink: Sink;
  /** what a user of the store sees at a destination, key → text */
  read: (destination: string) => Promise<Record<string, string>>;
  /** writes a key the way somebody other than varstream would, straight into the store */
  plant: (destination: string, key: string, value: string) => Promise<void>;
}

/** The same contract checks for every sink, against its real store. */
function sinkContract(make: () => Promise<ContractSubject>) {
  let sink: Sink;
  let read: ContractSubject["read"];
  let plant: ContractSubject["plant"];
  const destination = `contract-${randomUUID().slice(0, 8)}`;
  const scopeA: Scope = { datasource: "s", destination, repo: "acme/c", file: "a.yaml" };
  const scopeB: Scope = { ...scopeA, file: "b.yaml" };

  beforeAll(async () => {
    ({ sink, read, plant } = await make());
  });
  afterAll(async () => {
    await sink?.close();
  });

  it("writes a key set, and the same key set again changes nothing", async () => {
    const ks = keySet(scopeA, "t1", { "db.host": "h", "db.port": 5432, debug: false });
    expect(await applyDesired(sink, desired(ks), options)).toMatchObject({ outcome: "applied", set: 3, unchanged: 0 });
    expect(await read(destination)).toEqual({ "db.host": "h", "db.port": "5432", debug: "false" });
    const again = keySet(scopeA, "t2", { "db.host": "h", "db.port": 5432, debug: false });
    expect(await applyDesired(sink, desired(again), options)).toMatchObject({ set: 0, unchanged: 3, pruned: 0 });
  });

  it("a redelivered key set of an applied task reports the first apply and writes nothing", async () => {
    const ks = keySet(scopeA, "t3", { "db.host": "h2", "db.port": 5432, debug: false });
    const first = await applyDesired(sink, desired(ks), options);
    const second = await applyDesired(sink, desired(ks), options);
    expect(first).toMatchObject({ set: 1, unchanged: 2 });
    expect(second).toMatchObject({ set: 1, unchanged: 2, pruned: 0 });
  });

  it("prunes exactly the stale keys; protected keys, other scopes' keys and keys written by others survive", async () => {
    await applyDesired(sink, desired(keySet(scopeB, "t4", { "b.only": 1 })), options);
    await plant(destination, "manual.flag", "by-hand");
    // An edit by somebody else is not mistaken for an apply that did not land.
    expect(await sink.readManifest(scopeB, scopeKey(scopeB))).toMatchObject({ task_id: "t4" });
    const ks = keySet(scopeA, "t5", { "db.host": "h2", "local.override": "x" }, ["local.*"]);
    await applyDesired(sink, desired(ks), options);
    const pruned = keySet(scopeA, "t6", { "db.host": "h2" }, ["local.*"]);
    expect(await applyDesired(sink, desired(pruned), options)).toMatchObject({ set: 0, unchanged: 1, pruned: 0 });
    expect(await read(destination)).toEqual({
      "db.host": "h2",
      "local.override": "x",
      "b.only": "1",
      "manual.flag": "by-hand",
    });
  });

  it("reports a key claimed by two files of one destination as a conflict; the later apply wins", async () => {
    const notices: SinkReport[] = [];
    const report = await applyDesired(sink, desired(keySet(scopeB, "t6b", { "b.only": 1, "db.host": "from-b" })), {
      ...options,
      onConflict: (notice) => notices.push(notice),
    });
    expect(report.warnings).toEqual([
      `conflict: db.host at ${destination} is also claimed by ${scopeKey(scopeA)}; this commit wins`,
    ]);
    // The task that last applied A hears of it too: its own report, re-issued with the warning.
    expect(notices).toEqual([
      expect.objectContaining({
        task_id: "t6",
        scope: scopeKey(scopeA),
        outcome: "applied",
        set: 0,
        unchanged: 1,
        pruned: 0,
        commit: "commit-t6",
        warnings: [
          `conflict: db.host at ${destination} is also claimed by ${scopeKey(scopeB)}, whose later commit wins`,
        ],
      }),
    ]);
    expect((await read(destination))["db.host"]).toBe("from-b");
    // B drops the key: A still claims it, so it is not pruned.
    const dropped = await applyDesired(sink, desired(keySet(scopeB, "t6c", { "b.only": 1 })), options);
    expect(dropped).toMatchObject({ pruned: 0 });
    expect((await read(destination))["db.host"]).toBe("from-b");
  });

  it("a tombstone removes the scope's keys only", async () => {
    const report = await applyDesired(sink, { scope: scopeA, taskId: "t7", commit: "c7", keySet: null }, options);
    expect(report).toMatchObject({ outcome: "applied", set: 0, pruned: 1 });
    expect(await read(destination)).toEqual({ "local.override": "x", "b.only": "1", "manual.flag": "by-hand" });
  });
}

describe("redis sink (hash layout) against a real Redis", () => {
  const redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  afterAll(() => redis.disconnect());
  sinkContract(async () => {
    await redis.connect();
    const sink = await RedisSink.connect(
      "redis",
      { host: "127.0.0.1", port: REDIS_PORT, db: 0, tls: false, layout: "hash" },
      new Secrets(),
    );
    return { sink, read: (d) => redis.hgetall(d), plant: async (d, k, v) => void (await redis.hset(d, k, v)) };
  });

  it("keeps its manifest beside the data and refuses to write into a key of another type", async () => {
    const sink = await RedisSink.connect(
      "redis",
      { host: "127.0.0.1", port: REDIS_PORT, db: 0, tls: false, layout: "hash" },
      new Secrets(),
    );
    const destination = `typed-${randomUUID().slice(0, 8)}`;
    await redis.connect().catch(() => undefined);
    await redis.set(destination, "a string");
    const scope: Scope = { datasource: "redis", destination, repo: "acme/c", file: "x.yaml" };
    const report = await applyDesired(sink, desired(keySet(scope, "t1", { a: 1 })), options);
    expect(report).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(report.error).toMatch(/not a hash/);
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
  sinkContract(async () => {
    await redis.connect();
    const sink = await RedisSink.connect("redis", config, new Secrets());
    const read = async (destination: string) => {
      const keys = await redis.keys(`${destination}:*`);
      const values = keys.length ? await redis.mget(...keys) : [];
      return Object.fromEntries(keys.map((k, i) => [k.slice(destination.length + 1), values[i]!]));
    };
    return { sink, read, plant: async (d, k, v) => void (await redis.set(`${d}:${k}`, v)) };
  });

  it("sets the TTL on every key it writes", async () => {
    const sink = await RedisSink.connect("redis", config, new Secrets());
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
  sinkContract(async () => {
    await redis.connect();
    const sink = await RedisSink.connect("redis", config, new Secrets());
    const read = async (destination: string) => {
      const doc = JSON.parse((await redis.get(destination)) ?? "{}") as Record<string, unknown>;
      return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, String(v)]));
    };
    const plant = async (d: string, k: string, v: string) => {
      const doc = JSON.parse((await redis.get(d)) ?? "{}") as Record<string, unknown>;
      await redis.set(d, JSON.stringify({ ...doc, [k]: v }));
    };
    return { sink, read, plant };
  });

  it("keeps types in the JSON value and refuses a key that does not hold a JSON object", async () => {
    const sink = await RedisSink.connect("redis", config, new Secrets());
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

describe("postgres sink against a real PostgreSQL", () => {
  const PG_PORT = Number(process.env.PG_PORT ?? 35432);
  const table = `t_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const pool = new pg.Pool({ host: "127.0.0.1", port: PG_PORT, user: "postgres", database: "postgres" });
  afterAll(() => pool.end());
  sinkContract(async () => {
    const sink = await PostgresSink.connect(
      "postgres",
      { host: "127.0.0.1", port: PG_PORT, database: "postgres", user: "postgres", ssl: false, table },
      new Secrets(),
    );
    const read = async (destination: string) => {
      const res = await pool.query<{ key: string; value: unknown }>(
        `SELECT key, value FROM ${table} WHERE destination = $1`,
        [destination],
      );
      return Object.fromEntries(res.rows.map((r) => [r.key, String(r.value)]));
    };
    const plant = async (d: string, k: string, v: string) => {
      await pool.query(
        `INSERT INTO ${table} (destination, key, value, scope, commit) VALUES ($1, $2, $3, 'by-hand', '-')`,
        [d, k, JSON.stringify(v)],
      );
    };
    return { sink, read, plant };
  });

  it("keeps rows as docs/sinks/postgres.md says: jsonb values with their types, scope and commit", async () => {
    const sink = await PostgresSink.connect(
      "postgres",
      { host: "127.0.0.1", port: PG_PORT, database: "postgres", user: "postgres", ssl: false, table },
      new Secrets(),
    );
    const scope: Scope = { datasource: "postgres", destination: "prod/app", repo: "acme/c", file: "app.yaml" };
    await applyDesired(
      sink,
      desired(keySet(scope, "t9", { port: 8080, debug: false, name: "web", none: null })),
      options,
    );
    const rows = await pool.query(
      `SELECT key, value, scope, commit FROM ${table} WHERE destination = 'prod/app' ORDER BY key`,
    );
    expect(rows.rows).toEqual([
      { key: "debug", value: false, scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
      { key: "name", value: "web", scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
      { key: "none", value: null, scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
      { key: "port", value: 8080, scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
    ]);
    const manifest = await pool.query(`SELECT manifest->>'task_id' AS task FROM ${table}_manifests WHERE scope = $1`, [
      "postgres|prod/app|acme/c:app.yaml",
    ]);
    expect(manifest.rows).toEqual([{ task: "t9" }]);
    await sink.close();
  });

  it("a server that is down fails the apply cleanly, and nothing is half-written", async () => {
    const sink = await PostgresSink.connect(
      "postgres",
      { host: "127.0.0.1", port: 1, database: "postgres", user: "postgres", ssl: false, table },
      new Secrets(),
    );
    const scope: Scope = { datasource: "postgres", destination: "down", repo: "acme/c", file: "x.yaml" };
    const report = await applyDesired(sink, desired(keySet(scope, "t1", { a: 1 })), options);
    expect(report).toMatchObject({ outcome: "failed", rolled_back: true });
    await sink.close();
  });
});

describe("etcd sink against a real etcd (v3)", () => {
  const ETCD = `http://127.0.0.1:${process.env.ETCD_PORT ?? 32379}`;
  const prefix = `vs-${randomUUID().slice(0, 8)}/`;
  const client = new Etcd3({ hosts: [ETCD] });
  afterAll(() => client.close());
  const connect = () => EtcdSink.connect("etcd", { hosts: [ETCD], prefix }, new Secrets());
  sinkContract(async () => {
    const sink = await connect();
    const read = async (destination: string) => {
      const all = await client.getAll().prefix(`${prefix}${destination}/`).strings();
      return Object.fromEntries(
        Object.entries(all).map(([k, v]) => [k.slice(`${prefix}${destination}/`.length).replaceAll("/", "."), v]),
      );
    };
    const plant = async (d: string, k: string, v: string) => {
      await client.put(`${prefix}${d}/${k.replaceAll(".", "/")}`).value(v);
    };
    return { sink, read, plant };
  });

  it("lays keys out as docs/sinks/etcd.md says, and splits a large apply within etcd's op limit", async () => {
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

describe("zookeeper sink against a real ZooKeeper", () => {
  const connect = `127.0.0.1:${process.env.ZK_PORT ?? 32181}`;
  const root = `/vs-${randomUUID().slice(0, 8)}`;
  let sink: ZookeeperSink;
  const reader = new ZookeeperSink("zookeeper", { connect, encoding: "text", root });
  afterAll(() => reader.close());
  sinkContract(async () => {
    sink = new ZookeeperSink("zookeeper", { connect, encoding: "text", root });
    const read = async (destination: string) => {
      const known = ["db.host", "db.port", "debug", "local.override", "b.only", "manual.flag"];
      const values = await reader.readValues(destination, known);
      return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
    };
    const plant = async (d: string, k: string, v: string) => {
      const raw = zookeeper.createClient(connect);
      await new Promise<void>((resolve) => {
        raw.once("connected", () => resolve());
        raw.connect();
      });
      const path = `${root}/${d}/${k.replaceAll(".", "/")}`;
      await new Promise<void>((resolve, reject) =>
        raw.mkdirp(path, Buffer.from(v), (err) => (err ? reject(err) : resolve())),
      );
      raw.close();
    };
    return { sink, read, plant };
  });

  it("stores JSON with encoding json, a znode per key", async () => {
    const json = new ZookeeperSink("zookeeper", { connect, encoding: "json", root });
    const scope: Scope = { datasource: "zookeeper", destination: "prod/app", repo: "acme/c", file: "app.yaml" };
    await applyDesired(json, desired(keySet(scope, "t1", { "db.port": 5432, on: true })), options);
    const values = await json.readValues("prod/app", ["db.port", "on"]);
    expect(values).toEqual({ "db.port": "5432", on: "true" });
    // The znodes as a user reads them (docs/sinks/zookeeper.md).
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
});

describe("file sink (json) on disk", () => {
  let dir: string;
  sinkContract(async () => {
    dir = await mkdtemp(join(tmpdir(), "varstream-file-"));
    const sink = new FileSink("file", { path: dir, format: "json" });
    const read = async (destination: string) => {
      const data = flatten(JSON.parse(await readFile(join(dir, `${destination}.json`), "utf8")));
      return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)]));
    };
    const plant = async (d: string, k: string, v: string) => {
      const tree = JSON.parse(await readFile(join(dir, `${d}.json`), "utf8")) as Record<string, Tree>;
      const [head, leaf] = k.split(".") as [string, string];
      tree[head] = { ...(tree[head] as Record<string, Tree> | undefined), [leaf]: v };
      await writeFile(join(dir, `${d}.json`), JSON.stringify(tree));
    };
    return { sink, read, plant };
  });

  it("keeps types in JSON, refuses unsafe destinations and files that are not maps", async () => {
    const sink = new FileSink("file", { path: dir, format: "json" });
    const scope: Scope = { datasource: "file", destination: "typed/app", repo: "acme/c", file: "x.yaml" };
    await applyDesired(sink, desired(keySet(scope, "t1", { n: 1, b: true, s: "x", e: {} })), options);
    expect(flatten(JSON.parse(await readFile(join(dir, "typed/app.json"), "utf8")))).toEqual({
      b: true,
      e: {},
      n: 1,
      s: "x",
    });
    const escaped = await applyDesired(
      sink,
      desired(keySet({ ...scope, destination: "../etc/x" }, "t2", { a: 1 })),
      options,
    );
    expect(escaped).toMatchObject({ outcome: "failed" });
    expect(escaped.error).toMatch(/not a safe relative path/);
    await writeFile(join(dir, "list.json"), "[1,2]");
    const notMap = await applyDesired(
      sink,
      desired(keySet({ ...scope, destination: "list" }, "t3", { a: 1 })),
      options,
    );
    expect(notMap.error).toMatch(/does not hold a map/);
    expect(await readFile(join(dir, "list.json"), "utf8")).toBe("[1,2]");
  });
});

describe("file sink formats", () => {
  const scope = (destination: string): Scope => ({ datasource: "file", destination, repo: "acme/c", file: "x.yaml" });

  it("json and yaml hold the tree the keys came from; env and properties the flat keys", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-formats-"));
    const keys = {
      "db.host": "h",
      "db.port": 5432,
      "servers.0": "a",
      "servers.1": "b",
      "msg.text": 'it\'s "quoted"\nnext',
    };
    for (const format of ["json", "yaml", "env", "properties"] as const) {
      const sink = new FileSink(format, { path: dir, format });
      const report = await applyDesired(sink, desired(keySet(scope(`app-${format}`), "t1", keys)), options);
      expect(report.outcome, `${format}: ${report.error}`).toBe("applied");
    }
    expect(JSON.parse(await readFile(join(dir, "app-json.json"), "utf8"))).toEqual({
      db: { host: "h", port: 5432 },
      msg: { text: 'it\'s "quoted"\nnext' },
      servers: ["a", "b"],
    });
    expect(await readFile(join(dir, "app-yaml.yaml"), "utf8")).toContain("db:\n  host: h\n  port: 5432\n");
    const env = await readFile(join(dir, "app-env.env"), "utf8");
    expect(env).toContain("db.host=h\n");
    expect(env).toContain("db.port=5432\n");
    const { parse } = await import("dotenv");
    expect(parse(env)["msg.text"]).toBe('it\'s "quoted"\nnext');
    const properties = await readFile(join(dir, "app-properties.properties"), "utf8");
    expect(properties).toContain("db.host = h");
    // Re-applying reads each file back: nothing changes.
    for (const format of ["json", "yaml", "env", "properties"] as const) {
      const sink = new FileSink(format, { path: dir, format });
      const again = await applyDesired(sink, desired(keySet(scope(`app-${format}`), "t2", keys)), options);
      expect(again, format).toMatchObject({ set: 0, unchanged: 5 });
    }
  });

  it("refuses keys that cannot nest instead of crashing, and writes nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-formats-"));
    const sink = new FileSink("file", { path: dir, format: "json" });
    const report = await applyDesired(sink, desired(keySet(scope("clash"), "t1", { a: 1, "a.b": 2 })), options);
    expect(report).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(report.error).toMatch(/a\.b is under a, which is a value|a has a value and also keys below it/);
    await expect(readFile(join(dir, "clash.json"), "utf8")).rejects.toThrow(/ENOENT/);
  });
});

describe("per-sink metrics", () => {
  const value = async (name: string, labels: Record<string, string>) => {
    const metric = await registry.getSingleMetric(name)!.get();
    const match = metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return match.reduce((sum, v) => sum + v.value, 0);
  };

  it("counts keys set/unchanged/pruned, apply durations, retries and rollbacks under each sink's own name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-metrics-"));
    const ok = new FileSink("metrics-ok", { path: dir, format: "json" });
    const bad = new FileSink("metrics-bad", { path: dir, format: "json" });
    const scope: Scope = { datasource: "metrics-ok", destination: "m", repo: "acme/c", file: "x.yaml" };
    await applyDesired(ok, desired(keySet(scope, "t1", { a: 1, b: 2 })), options);
    await applyDesired(ok, desired(keySet(scope, "t2", { a: 1, c: 3 })), options);
    const refused = keySet({ ...scope, datasource: "metrics-bad", destination: "../escape" }, "t3", { a: 1 });
    expect(await applyDesired(bad, desired(refused), options)).toMatchObject({ outcome: "failed" });

    expect(await value("varstream_sink_keys_total", { sink: "metrics-ok", action: "set" })).toBe(3);
    expect(await value("varstream_sink_keys_total", { sink: "metrics-ok", action: "unchanged" })).toBe(1);
    expect(await value("varstream_sink_keys_total", { sink: "metrics-ok", action: "pruned" })).toBe(1);
    expect(await value("varstream_sink_apply_seconds", { sink: "metrics-ok", outcome: "applied", le: "+Inf" })).toBe(2);
    expect(await value("varstream_sink_retries_total", { sink: "metrics-ok" })).toBe(0);
    expect(await value("varstream_sink_retries_total", { sink: "metrics-bad" })).toBe(options.maxRetries);
    expect(await value("varstream_sink_rollbacks_total", { sink: "metrics-bad" })).toBe(1);
    expect(await value("varstream_sink_keys_total", { sink: "metrics-bad" })).toBe(0);
  });
});
