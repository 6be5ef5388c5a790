import { canonicalText, type FlatValue, type RedisSinkConfig, type Scope, type Secrets } from "@varstream/shared";
import { type ChainableCommander, Redis } from "ioredis";
import { claimedBy, destinationPrefix } from "../claims.ts";
import type { ApplyPlan, Claim, Manifest, Sink } from "../sink.ts";

/** Manifest hashes live beside the data: `__varstream__:<scope key>`. */
export const MANIFEST_PREFIX = "__varstream__:";
const META_FIELD = "__meta__";
const KEY_FIELD = "k:";

/**
 * Redis (SPEC §5.4), three layouts: `hash` (`HSET <destination> <key> <value>`), `string`
 * (`SET <destination>:<key> <value>`, optional TTL) — values as canonical text — and `json` (one JSON
 * object at `<destination>`, values typed, written with WATCH so a concurrent writer is never lost).
 * The manifest is the hash `__varstream__:<scope key>` (field `k:<key>` → value hash, `__meta__` →
 * commit, task and report). One apply is one MULTI/EXEC: data and manifest change together or not at all.
 */
export class RedisSink implements Sink {
  readonly kind = "redis";
  readonly name: string;
  readonly client: Redis;
  private readonly where: string;
  private readonly config: RedisSinkConfig;
  /** why the connection last failed (refused, WRONGPASS, a certificate…), for the scope's error */
  private lastError: string | undefined;

  private constructor(
    name: string,
    config: RedisSinkConfig,
    auth: { username?: string; password?: string },
    ca: string | undefined,
  ) {
    this.name = name;
    this.config = config;
    this.where = `${config.host}:${config.port}`;
    this.client = new Redis({
      host: config.host,
      port: config.port,
      db: config.db,
      ...auth,
      ...(config.tls ? { tls: ca === undefined ? {} : { ca } } : {}),
      lazyConnect: true,
      // Scopes applied side by side share round trips: commands issued in one tick go in one write.
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    });
  }

  /** Resolves the credentials (at use, SPEC §7) and connects. */
  static async connect(name: string, config: RedisSinkConfig, secrets: Secrets): Promise<RedisSink> {
    const auth: { username?: string; password?: string } = {};
    if (config.username !== undefined) auth.username = await secrets.resolve(config.username);
    if (config.password !== undefined) auth.password = await secrets.resolve(config.password);
    const ca = config.tls_ca === undefined ? undefined : await secrets.resolve(config.tls_ca);
    const sink = new RedisSink(name, config, auth, ca);
    // A Redis that is down at start must not keep the sink writer (and the other sinks) from starting:
    // applies fail and retry until it answers, ioredis reconnecting meanwhile.
    sink.client.on("error", (err: Error) => {
      sink.lastError = err.message;
    });
    sink.client.on("ready", () => {
      sink.lastError = undefined;
    });
    await sink.client.connect().catch(() => undefined);
    return sink;
  }

  describe(destination: string): string {
    const layouts = { hash: `hash ${destination}`, string: `keys ${destination}:*`, json: `JSON value ${destination}` };
    return `redis ${layouts[this.config.layout]}`;
  }

  /** Waits briefly for a reconnecting client (a restart should not cost an apply), else fails. */
  private async ready(): Promise<void> {
    if (this.client.status === "ready") return;
    const reconnecting = ["connecting", "connect", "reconnecting"].includes(this.client.status);
    if (reconnecting) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 2000);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.client.once("ready", done);
      });
    }
    if ((this.client.status as string) !== "ready")
      throw new Error(
        `redis ${this.where} is not reachable (${this.client.status}${this.lastError ? `: ${this.lastError}` : ""})`,
      );
  }

  async readManifest(_scope: Scope, scopeKey: string): Promise<Manifest | null> {
    await this.ready();
    const fields = await this.client.hgetall(MANIFEST_PREFIX + scopeKey);
    const meta = fields[META_FIELD];
    if (meta === undefined) return null;
    const keys: Record<string, string> = {};
    for (const [field, hash] of Object.entries(fields)) {
      if (field.startsWith(KEY_FIELD)) keys[field.slice(KEY_FIELD.length)] = hash;
    }
    return { ...(JSON.parse(meta) as Omit<Manifest, "keys">), keys };
  }

  /** The scopes of one destination, kept in a set beside the manifests: no keyspace scan. */
  private indexKey(scopeKey: string): string {
    return `${MANIFEST_PREFIX}index:${destinationPrefix(scopeKey)}`;
  }

  async claims(scope: Scope, scopeKey: string, keys: string[]): Promise<Record<string, Claim>> {
    await this.ready();
    const members = await this.client.smembers(this.indexKey(scopeKey));
    // Read side by side: the reads of one tick go to Redis in one write (auto-pipelining).
    const others = await Promise.all(
      members
        .filter((other) => other !== scopeKey)
        .map(async (other): Promise<[string, Manifest | null]> => [other, await this.readManifest(scope, other)]),
    );
    return claimedBy(keys, others);
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    await this.ready();
    if (keys.length === 0) return {};
    if (this.config.layout === "json") {
      const doc = await this.readJson(destination);
      return Object.fromEntries(keys.map((k) => [k, k in doc ? canonicalText(doc[k]!) : undefined]));
    }
    const values =
      this.config.layout === "string"
        ? await this.client.mget(...keys.map((k) => `${destination}:${k}`))
        : await this.client.hmget(destination, ...keys);
    return Object.fromEntries(keys.map((k, i) => [k, values[i] ?? undefined]));
  }

  private async readJson(destination: string): Promise<Record<string, FlatValue>> {
    const text = await this.client.get(destination);
    if (text === null) return {};
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`redis key ${destination} does not hold JSON; refusing to overwrite it`);
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new Error(`redis key ${destination} does not hold a JSON object; refusing to overwrite it`);
    }
    return doc as Record<string, FlatValue>;
  }

  private writeManifest(multi: ChainableCommander, plan: ApplyPlan): void {
    const manifestKey = MANIFEST_PREFIX + plan.scopeKey;
    multi.del(manifestKey);
    const { keys, ...meta } = plan.manifest;
    const fields: Record<string, string> = { [META_FIELD]: JSON.stringify(meta) };
    for (const [key, hash] of Object.entries(keys)) fields[KEY_FIELD + key] = hash;
    multi.hset(manifestKey, fields);
    if (plan.manifest.deleted) multi.srem(this.indexKey(plan.scopeKey), plan.scopeKey);
    else multi.sadd(this.indexKey(plan.scopeKey), plan.scopeKey);
  }

  private async exec(multi: ChainableCommander): Promise<void> {
    const results = await multi.exec();
    if (results === null) throw new Error("redis transaction was discarded (a watched key changed); retrying");
    const failed = results.find(([err]) => err !== null);
    if (failed) throw failed[0] as Error;
  }

  async restore(): Promise<boolean> {
    return false; // one transaction per apply: an interrupted one was aborted by the server
  }

  async apply(plan: ApplyPlan): Promise<void> {
    await this.ready();
    const set = Object.entries(plan.set);
    switch (this.config.layout) {
      case "hash": {
        // MULTI does not undo a command that fails inside EXEC (WRONGTYPE): refuse before writing anything.
        const type = await this.client.type(plan.destination);
        if (type !== "hash" && type !== "none") {
          throw new Error(`redis key ${plan.destination} is a ${type}, not a hash; refusing to write into it`);
        }
        const multi = this.client.multi();
        if (set.length > 0)
          multi.hset(plan.destination, Object.fromEntries(set.map(([k, v]) => [k, canonicalText(v)])));
        if (plan.stale.length > 0) multi.hdel(plan.destination, ...plan.stale);
        this.writeManifest(multi, plan);
        return this.exec(multi);
      }
      case "string": {
        const multi = this.client.multi();
        const ttl = this.config.ttl_seconds;
        for (const [k, v] of set) {
          if (ttl === undefined) multi.set(`${plan.destination}:${k}`, canonicalText(v));
          else multi.set(`${plan.destination}:${k}`, canonicalText(v), "EX", ttl);
        }
        if (plan.stale.length > 0) multi.del(...plan.stale.map((k) => `${plan.destination}:${k}`));
        this.writeManifest(multi, plan);
        return this.exec(multi);
      }
      case "json":
        // WATCH is the connection's state: applies of this layout take turns on the shared connection.
        return this.inTurn(() => this.applyJson(plan));
    }
  }

  private turn: Promise<unknown> = Promise.resolve();

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async applyJson(plan: ApplyPlan): Promise<void> {
    // Read-modify-write of one value: WATCH makes EXEC fail if anybody wrote it meanwhile.
    await this.client.watch(plan.destination);
    try {
      const doc = await this.readJson(plan.destination);
      for (const k of plan.stale) delete doc[k];
      Object.assign(doc, plan.set);
      const sorted = Object.fromEntries(
        Object.keys(doc)
          .sort()
          .map((k) => [k, doc[k]]),
      );
      const multi = this.client.multi();
      if (Object.keys(sorted).length === 0) multi.del(plan.destination);
      else multi.set(plan.destination, JSON.stringify(sorted));
      this.writeManifest(multi, plan);
      return await this.exec(multi);
    } catch (err) {
      await this.client.unwatch();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
