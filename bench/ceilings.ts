/**
 * The ceiling beside each sink in bench/sinks: the plainest loop of the store's own client doing the same
 * writes per scope — the 20 keys and a manifest, in the one atomic unit the store offers — against the same
 * server, with as many scopes in flight. No manifest read, no diff, no claims, no journal: what is left of
 * the sink's figure below it is what varstream's apply path costs.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Etcd3 } from "etcd3";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import zookeeper from "node-zookeeper-client";
import pg from "pg";

/** One scope's writes: its destination and its keys as text. */
export interface ScopeWrite {
  /** the scope's number in the run */
  id: number;
  destination: string;
  keys: Record<string, string>;
}

/** Runs `write` over every scope with `concurrency` in flight; keys per second. */
async function loop(scopes: ScopeWrite[], concurrency: number, write: (s: ScopeWrite) => Promise<void>) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < scopes.length) await write(scopes[next++]!);
    }),
  );
  const keys = scopes.reduce((n, s) => n + Object.keys(s.keys).length, 0);
  return Math.round(keys / ((performance.now() - started) / 1000));
}

const manifestOf = (s: ScopeWrite) => JSON.stringify({ commit: "c", keys: Object.keys(s.keys) });

type Ceiling = (config: Record<string, unknown>, scopes: ScopeWrite[], concurrency: number) => Promise<number>;

/** Per sink kind; a kind without one prints no ceiling. */
export const CEILINGS: Record<string, Ceiling> = {
  // MULTI, HSET of the keys, HSET of a manifest, EXEC — auto-pipelined.
  async redis(config, scopes, concurrency) {
    const client = new Redis({
      host: String(config.host),
      port: Number(config.port),
      db: Number(config.db ?? 0),
      enableAutoPipelining: true,
    });
    const run = randomUUID().slice(0, 8);
    try {
      return await loop(scopes, concurrency, async (s) => {
        await client
          .multi()
          .hset(`ceiling-${run}:${s.destination}`, s.keys)
          .hset(`ceiling-${run}:manifest:${s.destination}`, { manifest: manifestOf(s) })
          .exec();
      });
    } finally {
      const keys = await client.keys(`ceiling-${run}:*`);
      for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
      client.disconnect();
    }
  },

  // One transaction: a multi-row upsert of the keys, an upsert of the manifest.
  async postgres(config, scopes, concurrency) {
    const pool = new pg.Pool({
      host: String(config.host),
      port: Number(config.port),
      database: String(config.database),
      user: String(config.user),
      max: concurrency,
    });
    const table = `ceiling_${randomUUID().slice(0, 8)}`;
    await pool.query(
      `CREATE TABLE ${table} (destination text, key text, value text, PRIMARY KEY (destination, key));
       CREATE TABLE ${table}_m (destination text PRIMARY KEY, manifest jsonb)`,
    );
    try {
      return await loop(scopes, concurrency, async (s) => {
        const client = await pool.connect();
        try {
          const entries = Object.entries(s.keys);
          const rows = entries.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(", ");
          await client.query("BEGIN");
          await client.query(
            `INSERT INTO ${table} (destination, key, value) VALUES ${rows}
             ON CONFLICT (destination, key) DO UPDATE SET value = EXCLUDED.value`,
            [s.destination, ...entries.flat()],
          );
          await client.query(
            `INSERT INTO ${table}_m VALUES ($1, $2) ON CONFLICT (destination) DO UPDATE SET manifest = EXCLUDED.manifest`,
            [s.destination, manifestOf(s)],
          );
          await client.query("COMMIT");
        } finally {
          client.release();
        }
      });
    } finally {
      await pool.query(`DROP TABLE ${table}; DROP TABLE ${table}_m`);
      await pool.end();
    }
  },

  // One txn of puts: the keys and the manifest.
  async etcd(config, scopes, concurrency) {
    const client = new Etcd3({ hosts: config.hosts as string[] });
    const prefix = `ceiling-${randomUUID().slice(0, 8)}/`;
    try {
      return await loop(scopes, concurrency, async (s) => {
        const ops = Object.entries(s.keys).map(([k, v]) => client.put(`${prefix}${s.destination}/${k}`).value(v));
        await client
          .if(`${prefix}${s.destination}/.manifest`, "Version", ">", -1)
          .then(...ops, client.put(`${prefix}${s.destination}/.manifest`).value(manifestOf(s)))
          .commit();
      });
    } finally {
      await client.delete().prefix(prefix);
      client.close();
    }
  },

  // One multi: create (or set) a znode per key and the manifest's.
  async zookeeper(config, scopes, concurrency) {
    const client = zookeeper.createClient(String(config.connect));
    await new Promise<void>((resolve) => client.once("connected", () => resolve()).connect());
    const root = `/ceiling-${randomUUID().slice(0, 8)}`;
    const call = (fn: (cb: (err: unknown) => void) => void) =>
      new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
    await call((cb) => client.create(root, cb));
    try {
      return await loop(scopes, concurrency, async (s) => {
        const dir = `${root}/${s.id}`;
        const tx = client.transaction().create(dir);
        for (const [k, v] of Object.entries(s.keys)) tx.create(`${dir}/${k}`, Buffer.from(v));
        tx.create(`${dir}/.manifest`, Buffer.from(manifestOf(s)));
        await call((cb) => tx.commit(cb));
      });
    } finally {
      // znodes by hand, children first (the client has no recursive delete)
      for (let id = 0; id < scopes.length; id++) {
        const dir = `${root}/${id}`;
        for (const k of [...Object.keys(scopes[id]!.keys), ".manifest"])
          await call((cb) => client.remove(`${dir}/${k}`, cb)).catch(() => undefined);
        await call((cb) => client.remove(dir, cb)).catch(() => undefined);
      }
      await call((cb) => client.remove(root, cb)).catch(() => undefined);
      client.close();
    }
  },

  // Write-and-rename of the rendered file, then of the manifest.
  async file(config, scopes, concurrency) {
    const dir = join(String(config.path), `ceiling-${randomUUID().slice(0, 8)}`);
    try {
      return await loop(scopes, concurrency, async (s) => {
        const target = join(dir, `${s.destination}.json`);
        await mkdir(join(target, ".."), { recursive: true });
        // Scopes share destinations: each write its own temporary name, as the sink's.
        await writeFile(`${target}.${s.id}.tmp`, JSON.stringify(s.keys));
        await rename(`${target}.${s.id}.tmp`, target);
        await writeFile(`${target}.manifest.${s.id}.tmp`, manifestOf(s));
        await rename(`${target}.manifest.${s.id}.tmp`, `${target}.manifest`);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },

  // One bulk write of the keys' documents, then the manifest's document.
  async mongo(config, scopes, concurrency) {
    const client = new MongoClient(String(config.uri), { maxPoolSize: Number(config.max_pool_size ?? 100) });
    const db = client.db(`ceiling_${randomUUID().slice(0, 8)}`);
    const keys = db.collection<{ _id: string; value: string }>("keys");
    const manifests = db.collection<{ _id: string; manifest: string }>("manifests");
    try {
      return await loop(scopes, concurrency, async (s) => {
        await keys.bulkWrite(
          Object.entries(s.keys).map(([k, v]) => ({
            replaceOne: { filter: { _id: `${s.destination}|${k}` }, replacement: { value: v }, upsert: true },
          })),
          { ordered: false },
        );
        await manifests.replaceOne({ _id: s.destination }, { manifest: manifestOf(s) }, { upsert: true });
      });
    } finally {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    }
  },

  // A PUT of the rendered object, then of the manifest.
  async s3(config, scopes, concurrency) {
    const client = new S3Client({
      endpoint: String(config.endpoint),
      region: String(config.region ?? "us-east-1"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: String((config.access_key_id as string | undefined) ?? ""),
        secretAccessKey: String((config.secret_access_key as string | undefined) ?? ""),
      },
    });
    const prefix = `ceiling-${randomUUID().slice(0, 8)}/`;
    try {
      return await loop(scopes, concurrency, async (s) => {
        const Key = `${prefix}${s.destination}.json`;
        await client.send(new PutObjectCommand({ Bucket: String(config.bucket), Key, Body: JSON.stringify(s.keys) }));
        await client.send(
          new PutObjectCommand({ Bucket: String(config.bucket), Key: `${Key}.manifest`, Body: manifestOf(s) }),
        );
      });
    } finally {
      client.destroy();
    }
  },
};
