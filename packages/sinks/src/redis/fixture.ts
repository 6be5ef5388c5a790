import { type Scope, scopeKey } from "@varstream/shared";
import { Redis } from "ioredis";
import type { SinkFixture, StoreView } from "../fixture.ts";
import { MANIFEST_PREFIX } from "./redis-sink.ts";

const PORT = Number(process.env.REDIS_PORT ?? 36379);

const variants = {
  hash: { layout: "hash" },
  string: { layout: "string", ttl_seconds: 3600 },
  json: { layout: "json" },
};

/** The test Redis (REDIS_PORT); tests keep apart by unique destinations. */
export const fixture: SinkFixture = {
  variants,
  outage: { atomic: true },
  async open(options = {}) {
    const variant = (options.variant ?? "hash") as keyof typeof variants;
    const layout = variants[variant];
    // Isolated: database 5, emptied first (only the README's example uses it).
    const db = options.isolated ? 5 : 0;
    const direct = new Redis({ port: PORT, db, lazyConnect: true });
    await direct.connect();
    if (options.isolated) await direct.flushdb();
    const port = options.via ? await options.via(PORT) : PORT;
    const readJson = async (d: string) => JSON.parse((await direct.get(d)) ?? "{}") as Record<string, unknown>;
    const read = {
      hash: (d: string) => direct.hgetall(d),
      string: async (d: string) => {
        const keys = await direct.keys(`${d}:*`);
        const values = keys.length ? await direct.mget(...keys) : [];
        return Object.fromEntries(keys.map((k, i) => [k.slice(d.length + 1), values[i]!]));
      },
      json: async (d: string) => Object.fromEntries(Object.entries(await readJson(d)).map(([k, v]) => [k, String(v)])),
    }[variant];
    const plant = {
      hash: async (d: string, k: string, v: string) => void (await direct.hset(d, k, v)),
      string: async (d: string, k: string, v: string) => void (await direct.set(`${d}:${k}`, v)),
      json: async (d: string, k: string, v: string) =>
        void (await direct.set(d, JSON.stringify({ ...(await readJson(d)), [k]: v }))),
    }[variant];
    const view: StoreView = {
      read,
      plant,
      manifestTask: async (scope: Scope) => {
        const meta = await direct.hget(`${MANIFEST_PREFIX}${scopeKey(scope)}`, "__meta__");
        return meta === null ? undefined : (JSON.parse(meta) as { task_id: string }).task_id;
      },
      // redis-cli's HGETALL, numbers right-aligned
      show: async (d) => {
        const pairs = Object.entries(await direct.hgetall(d)).flat();
        const width = String(pairs.length).length;
        const lines = pairs.map((item, i) => `${String(i + 1).padStart(width)}) ${JSON.stringify(item)}`);
        return `127.0.0.1:6379> HGETALL ${d}\n${lines.join("\n")}\n`;
      },
    };
    return {
      config: { host: "127.0.0.1", port, db, ...layout },
      view,
      close: async () => direct.disconnect(),
    };
  },
};
