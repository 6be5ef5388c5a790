import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type FlatValue, flatten, type Scope, Secrets, scopeKey } from "@varstream/shared";
import { CutProxy, type CutTrigger, desiredOf, makeKeySet, Sshd, waitFor } from "@varstream/testkit";
import { Etcd3 } from "etcd3";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyDesired } from "../src/apply/apply.ts";
import { EtcdSink } from "../src/sinks/etcd/etcd-sink.ts";
import { FileSink } from "../src/sinks/file/file-sink.ts";
import { FORMATS } from "../src/sinks/file/formats.ts";
import { type FileStore, LocalStore } from "../src/sinks/file/store.ts";
import { PostgresSink } from "../src/sinks/postgres/postgres-sink.ts";
import { RedisSink } from "../src/sinks/redis/redis-sink.ts";
import type { Sink } from "../src/sinks/sink.ts";
import { connectSshSink } from "../src/sinks/ssh/ssh-sink.ts";
import { ZookeeperSink } from "../src/sinks/zookeeper/zookeeper-sink.ts";

/**
 * SPEC §5.2 step 4 against every real server: the server goes away in the middle of an apply (a proxy
 * between sink and server cuts the connection inside the request); afterwards nothing half-written
 * remains, and once the server is back the next attempt converges.
 */

const logger = createLogger("test", "silent");
const once = { maxRetries: 0, retryBaseMs: 10, logger };
const MARKER = "CUTHERE";

/** 300 keys: more than one etcd transaction holds, so the etcd apply is split into parts. */
function keys(version: string, big = false): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  const pad = big ? "x".repeat(200) : "";
  for (let i = 0; i < 300; i++) out[`app.k${String(i).padStart(3, "0")}`] = `${version}-${i}${pad}`;
  out[`${version}.only`] = version;
  return out;
}

function desired(scope: Scope, taskId: string, values: Record<string, FlatValue>) {
  return desiredOf(makeKeySet(scope, values, { task_id: taskId, commit: `c-${randomUUID().slice(0, 8)}` }));
}

const text = (values: Record<string, FlatValue>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));

interface Subject {
  /** the sink, talking to the server through `proxy` */
  sink: Sink;
  proxy?: CutProxy;
  /** where the cut falls; the marker is in the new manifest's task id, written last */
  trigger?: CutTrigger;
  /** the destination as a user reads it, straight from the server */
  read: (destination: string) => Promise<Record<string, string>>;
  /** the task id of the scope's manifest, straight from the server */
  manifestTask: (scope: Scope) => Promise<string | undefined>;
  /** true for a sink whose apply is one transaction: even mid-cut, the server shows the old state */
  atomic: boolean;
  /** checks, while the server is away, that the cut fell inside the apply (where that can be seen) */
  midway?: (scope: Scope) => Promise<void>;
  /** files a cut-off write left behind (none, once restored) */
  leftovers?: () => Promise<string[]>;
  close: () => Promise<void>;
}

function outageContract(make: () => Promise<Subject>, big = false) {
  let subject: Subject;
  const destination = `outage-${randomUUID().slice(0, 8)}`;
  const scope: Scope = { datasource: "s", destination, repo: "acme/c", file: "app.yaml" };
  beforeAll(async () => {
    subject = await make();
  });
  afterAll(async () => {
    await subject?.close();
  });

  it("cut off mid-apply: rolled back whole, and converges once the server is back", async () => {
    const { sink, proxy, read, manifestTask } = subject;
    const v1 = keys("v1", big);
    expect(await applyDesired(sink, desired(scope, "t1", v1), once)).toMatchObject({ outcome: "applied", set: 301 });
    expect(await read(destination)).toEqual(text(v1));

    const v2 = keys("v2", big);
    const cut = proxy!.cut(subject.trigger ?? { marker: MARKER });
    const failed = await applyDesired(sink, desired(scope, `t2-${MARKER}`, v2), once);
    await cut;
    expect(failed).toMatchObject({ outcome: "failed", rolled_back: true, set: 0 });

    // While the server is away, a transactional store shows the old state whole; a split one may hold
    // the parts that landed before the cut — it is restored when the server is back.
    const during = await read(destination);
    if (subject.atomic) expect(during).toEqual(text(v1));
    else expect(during).not.toEqual(text(v1)); // proof that the cut fell in the middle
    await subject.midway?.(scope);

    proxy!.up();
    // The next read of the scope's manifest, once the sink reaches the server again, restores it.
    const restored = await waitFor(() => sink.readManifest(scope, scopeKey(scope)).catch(() => undefined), {
      what: "the sink reaching the server again",
    });
    expect(restored).toMatchObject({ task_id: "t1" });
    expect(await read(destination)).toEqual(text(v1));
    expect(await manifestTask(scope)).toBe("t1");
    expect((await subject.leftovers?.()) ?? []).toEqual([]);

    const again = await applyDesired(sink, desired(scope, "t3", v2), once);
    expect(again).toMatchObject({ outcome: "applied", set: 301, pruned: 1, unchanged: 0 });
    expect(await read(destination)).toEqual(text(v2));
    expect(await manifestTask(scope)).toBe("t3");
  });
}

describe("redis: server gone while the apply command is sent", () => {
  const port = Number(process.env.REDIS_PORT ?? 36379);
  const direct = new Redis({ port, lazyConnect: true });
  outageContract(async () => {
    await direct.connect();
    const proxy = await CutProxy.start({ port });
    const sink = await RedisSink.connect(
      "s",
      { host: "127.0.0.1", port: proxy.port, db: 0, tls: false, layout: "hash" },
      new Secrets(),
    );
    return {
      sink,
      proxy,
      atomic: true,
      read: (d) => direct.hgetall(d),
      manifestTask: async (s) => {
        const meta = await direct.hget(`__varstream__:${scopeKey(s)}`, "__meta__");
        return meta === null ? undefined : (JSON.parse(meta) as { task_id: string }).task_id;
      },
      close: async () => {
        await sink.close();
        await proxy.close();
        direct.disconnect();
      },
    };
  });
});

describe("postgres: server gone between the data and the manifest statements", () => {
  const port = Number(process.env.PG_PORT ?? 35432);
  const table = `o_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const direct = new pg.Pool({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  outageContract(async () => {
    const proxy = await CutProxy.start({ port });
    const sink = await PostgresSink.connect(
      "s",
      { host: "127.0.0.1", port: proxy.port, database: "postgres", user: "postgres", ssl: false, table },
      new Secrets(),
    );
    return {
      sink,
      proxy,
      atomic: true,
      read: async (d) => {
        const res = await direct
          .query<{ key: string; value: FlatValue }>(`SELECT key, value FROM ${table} WHERE destination = $1`, [d])
          .catch(() => ({ rows: [] }));
        return Object.fromEntries(res.rows.map((r) => [r.key, String(r.value)]));
      },
      manifestTask: async (s) => {
        const res = await direct.query<{ task: string }>(
          `SELECT manifest->>'task_id' AS task FROM ${table}_manifests WHERE scope = $1`,
          [scopeKey(s)],
        );
        return res.rows[0]?.task;
      },
      close: async () => {
        await sink.close();
        await proxy.close();
        await direct.end();
      },
    };
  });
});

describe("etcd: server gone after some parts of a split apply committed", () => {
  const endpoint = `127.0.0.1:${process.env.ETCD_PORT ?? 32379}`;
  const prefix = `outage-${randomUUID().slice(0, 8)}/`;
  const direct = new Etcd3({ hosts: [`http://${endpoint}`] });
  outageContract(async () => {
    const proxy = await CutProxy.start({ port: Number(endpoint.split(":")[1]) });
    const sink = await EtcdSink.connect("s", { hosts: [`http://127.0.0.1:${proxy.port}`], prefix }, new Secrets());
    return {
      sink,
      proxy,
      atomic: false,
      read: async (d) => {
        const all = await direct.getAll().prefix(`${prefix}${d}/`).strings();
        return Object.fromEntries(
          Object.entries(all).map(([k, v]) => [k.slice(`${prefix}${d}/`.length).replaceAll("/", "."), v]),
        );
      },
      manifestTask: async (s) => {
        const manifest = await direct.get(`${prefix}__varstream__/${scopeKey(s)}`).json();
        return (manifest as { task_id: string } | null)?.task_id;
      },
      close: async () => {
        await sink.close();
        await proxy.close();
        direct.close();
      },
    };
  });
});

describe("zookeeper: server gone inside the multi", () => {
  const port = Number(process.env.ZK_PORT ?? 32181);
  const root = `/outage-${randomUUID().slice(0, 8)}`;
  const direct = new ZookeeperSink("reader", { connect: `127.0.0.1:${port}`, encoding: "text", root });
  outageContract(async () => {
    const proxy = await CutProxy.start({ port });
    const sink = new ZookeeperSink("s", { connect: `127.0.0.1:${proxy.port}`, encoding: "text", root });
    const all = [...Object.keys(keys("v1")), ...Object.keys(keys("v2"))];
    return {
      sink,
      proxy,
      atomic: true,
      read: async (d) => {
        const values = await direct.readValues(d, all);
        return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
      },
      manifestTask: async (s) => (await direct.readManifest(s, scopeKey(s)))?.task_id,
      close: async () => {
        await sink.close();
        await proxy.close();
        await direct.close();
      },
    };
  });
});

describe("ssh: connection lost while the new file is uploaded", () => {
  let sshd: Sshd;
  outageContract(async () => {
    sshd = await Sshd.start();
    const proxy = await CutProxy.start({ port: sshd.port });
    const sink = await connectSshSink(
      "s",
      {
        host: "127.0.0.1",
        port: proxy.port,
        username: "root",
        private_key: sshd.clientKey,
        path: sshd.remote,
        format: "env",
      },
      new Secrets(),
    );
    // SSH is encrypted, so the cut falls by count: the manifest file (~25 kB, written first) is through,
    // the data file (~64 kB) is not.
    const manifestTask = async (s: Scope) => {
      const path = join(sshd.remote, ".varstream", `${s.destination}.manifest.json`);
      const file = JSON.parse(await readFile(path, "utf8")) as { scopes: Record<string, { task_id: string }> };
      return file.scopes[scopeKey(s)]?.task_id;
    };
    return {
      sink,
      proxy,
      trigger: { afterBytes: 50_000 },
      // The old .env stays whole throughout: the new one is renamed over it only once complete.
      atomic: true,
      read: async (d) => text(FORMATS.env.read(await readFile(join(sshd.remote, `${d}.env`), "utf8"))),
      // The manifest file went first and names the new task: the data upload is what the cut broke.
      midway: async (s) => expect(await manifestTask(s)).toBe(`t2-${MARKER}`),
      leftovers: async () => (await readdir(sshd.remote)).filter((name) => name.endsWith(".tmp")),
      manifestTask,
      close: async () => {
        await sink.close();
        await proxy.close();
        sshd.stop();
      },
    };
  }, true);
});

/** A local store whose next write of a data file fails after the manifest file was written. */
class CrashingStore extends LocalStore {
  crashNext = false;
  override async write(path: string, content: string, validate?: (tempPath: string) => Promise<void>) {
    if (this.crashNext && !path.startsWith(".varstream/")) {
      this.crashNext = false;
      throw new Error("crashed before the data file landed");
    }
    return super.write(path, content, validate);
  }
}

describe("file: a write cut off between the manifest and the data file", () => {
  it("puts the manifest back, so the next apply re-writes what did not land", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-crash-"));
    const store = new CrashingStore(dir);
    const sink = new FileSink("s", { format: "json", store: store as FileStore });
    const scope: Scope = { datasource: "s", destination: "app", repo: "acme/c", file: "app.yaml" };
    const readData = async () => text(flatten(JSON.parse(await readFile(join(dir, "app.json"), "utf8"))));
    await applyDesired(sink, desired(scope, "t1", { a: 1, b: 1 }), once);
    store.crashNext = true;
    const failed = await applyDesired(sink, desired(scope, "t2", { a: 2, c: 2 }), once);
    expect(failed).toMatchObject({ outcome: "failed", rolled_back: true });
    expect(await readData()).toEqual({ a: "1", b: "1" });
    expect(await sink.readManifest(scope, scopeKey(scope))).toMatchObject({ task_id: "t1" });
    // Had the manifest stayed at t2, `c` would count as written and `b` as not varstream's: neither happens.
    expect(await applyDesired(sink, desired(scope, "t3", { a: 2, c: 2 }), once)).toMatchObject({
      outcome: "applied",
      set: 2,
      pruned: 1,
    });
    expect(await readData()).toEqual({ a: "2", c: "2" });
  });
});
