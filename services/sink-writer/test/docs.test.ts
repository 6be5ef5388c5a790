import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, flatten, type Scope, Secrets, type Tree } from "@varstream/shared";
import { makeKeySet, Sshd } from "@varstream/testkit";
import { Etcd3 } from "etcd3";
import { Redis } from "ioredis";
import zookeeper from "node-zookeeper-client";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { applyDesired } from "../src/apply/apply.ts";
import { EtcdSink } from "../src/sinks/etcd/etcd-sink.ts";
import { FileSink } from "../src/sinks/file/file-sink.ts";
import { PostgresSink } from "../src/sinks/postgres/postgres-sink.ts";
import { RedisSink } from "../src/sinks/redis/redis-sink.ts";
import type { Sink } from "../src/sinks/sink.ts";
import { connectSshSink } from "../src/sinks/ssh/ssh-sink.ts";
import { ZookeeperSink } from "../src/sinks/zookeeper/zookeeper-sink.ts";

/**
 * Each docs/sinks/<name>.md has an `## Example`: a config file (a yaml block) and what a user of the
 * store sees after varstream wrote it (the next block). This applies the first to the real store and
 * checks the second, so the page cannot drift from what the sink does. After an intended change of a
 * layout, `DOCS_WRITE=1` rewrites the output blocks from what the stores show.
 */

const DOCS = resolve(dirname(fileURLToPath(import.meta.url)), "../../../docs/sinks");
const logger = createLogger("test", "silent");
const DESTINATION = "production/app";

interface Example {
  input: Tree;
  /** compares what the store shows with the page's output block */
  check: (shown: string) => Promise<void>;
}

async function example(sink: string): Promise<Example> {
  const path = join(DOCS, `${sink}.md`);
  const page = await readFile(path, "utf8");
  const start = page.search(/^## Example/m);
  if (start < 0) throw new Error(`docs/sinks/${sink}.md has no "## Example" section`);
  const blocks = [...page.slice(start).matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)];
  if (blocks.length < 2) throw new Error(`docs/sinks/${sink}.md: the example needs an input and an output block`);
  const output = blocks[1]!;
  return {
    input: parseYaml(blocks[0]![1]!) as Tree,
    check: async (shown) => {
      if (process.env.DOCS_WRITE) {
        const at = start + output.index! + output[0].indexOf("\n") + 1;
        await writeFile(path, page.slice(0, at) + shown + page.slice(at + output[1]!.length));
      } else expect(shown).toBe(output[1]);
    },
  };
}

async function write(sink: Sink, datasource: string, input: Tree): Promise<void> {
  const scope: Scope = { datasource, destination: DESTINATION, repo: "acme/config", file: "config/app.yaml" };
  const keySet = makeKeySet(scope, flatten(input), { task_id: "docs", commit: "9f3c2e1", env: "production" });
  const report = await applyDesired(
    sink,
    { scope, taskId: "docs", commit: "9f3c2e1", keySet },
    {
      maxRetries: 0,
      retryBaseMs: 10,
      logger,
    },
  );
  expect(report.outcome, report.error).toBe("applied");
}

describe("docs/sinks examples hold against the real stores", () => {
  const closers: (() => Promise<unknown> | unknown)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it("file: the JSON file", async () => {
    const { input, check } = await example("file");
    const dir = await mkdtemp(join(tmpdir(), "varstream-docs-"));
    await write(new FileSink("file", { path: dir, format: "json" }), "file", input);
    await check(await readFile(join(dir, `${DESTINATION}.json`), "utf8"));
  });

  it("redis: HGETALL of the destination's hash", async () => {
    const { input, check } = await example("redis");
    const port = Number(process.env.REDIS_PORT ?? 36379);
    const direct = new Redis({ port, db: 5 });
    closers.push(() => direct.disconnect());
    await direct.flushdb();
    const sink = await RedisSink.connect(
      "redis",
      { host: "127.0.0.1", port, db: 5, tls: false, layout: "hash" },
      new Secrets(),
    );
    closers.push(() => sink.close());
    await write(sink, "redis", input);
    const pairs = Object.entries(await direct.hgetall(DESTINATION)).flat();
    const width = String(pairs.length).length; // redis-cli right-aligns the numbers
    const lines = pairs.map((item, i) => `${String(i + 1).padStart(width)}) ${JSON.stringify(item)}`);
    await check(`127.0.0.1:6379> HGETALL ${DESTINATION}\n${lines.join("\n")}\n`);
  });

  it("postgres: the rows of the table", async () => {
    const { input, check } = await example("postgres");
    const port = Number(process.env.PG_PORT ?? 35432);
    const table = `docs_${Date.now().toString(36)}`;
    const sink = await PostgresSink.connect(
      "postgres",
      { host: "127.0.0.1", port, database: "postgres", user: "postgres", ssl: false, table },
      new Secrets(),
    );
    closers.push(() => sink.close());
    await write(sink, "postgres", input);
    const direct = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    await direct.connect();
    closers.push(() => direct.end());
    const rows = await direct.query<{ line: string }>(
      `SELECT concat_ws(' | ', destination, key, value::text, scope, commit) AS line FROM ${table} ORDER BY key`,
    );
    const query = "SELECT destination, key, value, scope, commit FROM varstream_config ORDER BY key";
    await check(`$ psql -At -F ' | ' -c "${query}"\n${rows.rows.map((r) => `${r.line}\n`).join("")}`);
  });

  it("etcd: etcdctl get --prefix", async () => {
    const { input, check } = await example("etcd");
    const hosts = [`http://127.0.0.1:${process.env.ETCD_PORT ?? 32379}`];
    const prefix = `docs-${Date.now().toString(36)}/`;
    const sink = await EtcdSink.connect("etcd", { hosts, prefix }, new Secrets());
    closers.push(() => sink.close());
    await write(sink, "etcd", input);
    const direct = new Etcd3({ hosts });
    closers.push(() => direct.close());
    const all = await direct.getAll().prefix(`${prefix}${DESTINATION}/`).strings();
    // As the page shows it, with prefix `config/`.
    const lines = Object.entries(all).flatMap(([k, v]) => [`config/${k.slice(prefix.length)}`, v]);
    await check(`$ etcdctl get --prefix config/${DESTINATION}/\n${lines.join("\n")}\n`);
  });

  it("zookeeper: the znodes under the destination and their data", async () => {
    const { input, check } = await example("zookeeper");
    const connect = `127.0.0.1:${process.env.ZK_PORT ?? 32181}`;
    const root = `/docs-${Date.now().toString(36)}`;
    const sink = new ZookeeperSink("zookeeper", { connect, root, encoding: "text" });
    closers.push(() => sink.close());
    await write(sink, "zookeeper", input);
    const client = zookeeper.createClient(connect);
    await new Promise<void>((resolve) => {
      client.once("connected", () => resolve());
      client.connect();
    });
    closers.push(() => client.close());
    const lines: string[] = [];
    const walk = async (path: string): Promise<void> => {
      const children = await new Promise<string[]>((resolve, reject) =>
        client.getChildren(path, (err, names) => (err ? reject(err) : resolve(names))),
      );
      if (children.length === 0) {
        const data = await new Promise<Buffer>((resolve, reject) =>
          client.getData(path, (err, d) => (err ? reject(err) : resolve(d ?? Buffer.alloc(0)))),
        );
        lines.push(`/config${path.slice(root.length)} = ${data.toString("utf8")}`);
      }
      for (const child of children.sort()) await walk(`${path}/${child}`);
    };
    await walk(`${root}/${DESTINATION}`);
    await check(`${lines.join("\n")}\n`);
  });

  it("ssh: the remote .env file", async () => {
    const { input, check } = await example("ssh");
    const sshd = await Sshd.start();
    closers.push(() => sshd.stop());
    const sink = await connectSshSink(
      "ssh",
      {
        host: "127.0.0.1",
        port: sshd.port,
        username: "root",
        private_key: sshd.clientKey,
        path: sshd.remote,
        format: "env",
      },
      new Secrets(),
    );
    closers.push(() => sink.close());
    await write(sink, "ssh", input);
    const file = await readFile(join(sshd.remote, `${DESTINATION}.env`), "utf8");
    await check(`$ cat /etc/checkout/${DESTINATION}.env\n${file}`);
  });
});
