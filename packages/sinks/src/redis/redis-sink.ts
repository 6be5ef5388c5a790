import {
  canonicalText,
  destinationPrefix,
  type FlatValue,
  PipelineError,
  type Scope,
  scopeKey,
} from "@varstream/shared";
import { type ChainableCommander, Cluster, Redis, type RedisOptions } from "ioredis";
import { claimedBy } from "../claims.ts";
import {
  type ApplyPlan,
  type Claim,
  type Manifest,
  refuseOlder,
  type Sink,
  type SinkDeps,
  StaleWriteError,
} from "../contract.ts";
import type { RedisSinkConfig } from "./config.ts";
import { APPLY, UPDATE_CLAIMS } from "./scripts.ts";

/** The APPLY script as a command: sent by its SHA, the text only when Redis does not know it yet. */
type WithApply = (Redis | Cluster) & { varstreamApply(...args: string[]): Promise<number> };

/** Manifest hashes live beside the data: `__varstream__:<scope key>`. */
export const MANIFEST_PREFIX = "__varstream__:";
const META_FIELD = "__meta__";
/** separates the scope keys claiming one key (a scope key holds no NUL) */
const CLAIM_SEPARATOR = "\0";

const KEY_FIELD = "k:";

/**
 * Redis, three layouts: `hash` (`HSET <destination> <key> <value>`), `string`
 * (`SET <destination>:<key> <value>`, optional TTL) — values as canonical text — and `json` (one JSON
 * object at `<destination>`, values typed, written with WATCH so a concurrent writer is never lost).
 * The manifest is the hash `__varstream__:<scope key>` (field `k:<key>` → value hash, `__meta__` →
 * commit, task and report). One apply is one atomic step: a Lua script for `hash` and `string`
 * (scripts.ts), MULTI/EXEC under WATCH for `json` — data, manifest and claims change together or not at all.
 */
export class RedisSink implements Sink {
  readonly name: string;
  readonly client: Redis | Cluster;
  /** a Redis Cluster: manifests and claims carry the destination as their hash tag (same slot as its data) */
  private readonly cluster: boolean;
  private readonly where: string;
  private readonly config: RedisSinkConfig;
  /** why the connection last failed (refused, WRONGPASS, a certificate…), for the scope's error */
  private lastError: string | undefined;

  private constructor(
    name: string,
    config: RedisSinkConfig,
    auth: { username?: string; password?: string },
    ca: string | undefined,
    sentinelPassword?: string,
  ) {
    this.name = name;
    this.config = config;
    this.cluster = config.cluster_nodes !== undefined;
    this.where = config.cluster_nodes
      ? `cluster ${config.cluster_nodes.join(",")}`
      : config.sentinels
        ? `${config.sentinel_master} (sentinels ${config.sentinels.join(",")})`
        : `${config.host}:${config.port}`;
    const connection: RedisOptions = {
      ...auth,
      ...(config.tls ? { tls: ca === undefined ? {} : { ca } } : {}),
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
    };
    const retryStrategy = (times: number) => Math.min(times * 100, 1000);
    this.client = config.cluster_nodes
      ? new Cluster(config.cluster_nodes.map(hostPort), {
          redisOptions: connection,
          lazyConnect: true,
          enableAutoPipelining: true,
          enableOfflineQueue: true,
          clusterRetryStrategy: retryStrategy,
        })
      : new Redis({
          ...(config.sentinels
            ? {
                sentinels: config.sentinels.map(hostPort),
                name: config.sentinel_master!,
                ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
                // with tls, the connection to the master the sentinels name is TLS too
                enableTLSForSentinelMode: config.tls,
              }
            : { host: config.host, port: config.port }),
          db: config.db,
          ...connection,
          lazyConnect: true,
          // Scopes applied side by side share round trips: commands issued in one tick go in one write.
          enableAutoPipelining: true,
          retryStrategy,
        });
    this.client.defineCommand("varstreamApply", { numberOfKeys: 3, lua: APPLY });
  }

  /** Resolves the credentials (at use) and connects. */
  static async connect(name: string, config: RedisSinkConfig, deps: SinkDeps): Promise<RedisSink> {
    const { secrets } = deps;
    const auth: { username?: string; password?: string } = {};
    if (config.username !== undefined) auth.username = await secrets.resolve(config.username);
    if (config.password !== undefined) auth.password = await secrets.resolve(config.password);
    const ca = config.tls_ca === undefined ? undefined : await secrets.resolve(config.tls_ca);
    const sentinelPassword =
      config.sentinel_password === undefined ? undefined : await secrets.resolve(config.sentinel_password);
    const sink = new RedisSink(name, config, auth, ca, sentinelPassword);
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
      throw new PipelineError(
        "SINK_UNAVAILABLE",
        `redis ${this.where} is not reachable (${this.client.status}${this.lastError ? `: ${this.lastError}` : ""})`,
      );
  }

  readManifest(scope: Scope): Promise<Manifest | null> {
    return this.manifestAt(scopeKey(scope));
  }

  private async manifestAt(scopeKey: string): Promise<Manifest | null> {
    await this.ready();
    const fields = await this.client.hgetall(this.manifestKey(scopeKey));
    const meta = fields[META_FIELD];
    if (meta === undefined) return null;
    const keys: Record<string, string> = {};
    for (const [field, hash] of Object.entries(fields)) {
      if (field.startsWith(KEY_FIELD)) keys[field.slice(KEY_FIELD.length)] = hash;
    }
    return { ...(JSON.parse(meta) as Omit<Manifest, "keys">), keys };
  }

  /** A scope's manifest hash; in a cluster, tagged with the destination so it shares the data's slot. */
  private manifestKey(scopeKey: string): string {
    return this.cluster ? `${MANIFEST_PREFIX}{${destinationOf(scopeKey)}}:${scopeKey}` : MANIFEST_PREFIX + scopeKey;
  }

  /** Who claims each key of one destination: a hash, field = key, value = the claiming scope keys. */
  private claimsKey(scopeKey: string): string {
    const tag = this.cluster ? `{${destinationOf(scopeKey)}}:` : "";
    return `${MANIFEST_PREFIX}claims:${tag}${destinationPrefix(scopeKey)}`;
  }

  claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>> {
    return this.claimsAt(scopeKey(scope), keys);
  }

  private async claimsAt(scopeKey: string, keys: string[]): Promise<Record<string, Claim>> {
    await this.ready();
    if (keys.length === 0) return {};
    const lists = await this.client.hmget(this.claimsKey(scopeKey), ...keys);
    const others = new Set<string>();
    for (const list of lists) for (const other of list?.split(CLAIM_SEPARATOR) ?? []) others.add(other);
    others.delete(scopeKey);
    if (others.size === 0) return {};
    // Only a real conflict costs the other scopes' manifests (read side by side: one write to Redis).
    const manifests = await Promise.all(
      [...others].map(async (other): Promise<[string, Manifest | null]> => [other, await this.manifestAt(other)]),
    );
    return claimedBy(keys, manifests);
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
      throw new PipelineError("SINK_REFUSED", `redis key ${destination} does not hold JSON; refusing to overwrite it`);
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new PipelineError(
        "SINK_REFUSED",
        `redis key ${destination} does not hold a JSON object; refusing to overwrite it`,
      );
    }
    return doc as Record<string, FlatValue>;
  }

  private writeManifest(multi: ChainableCommander, plan: ApplyPlan): void {
    const manifestKey = this.manifestKey(scopeKey(plan.scope));
    multi.del(manifestKey);
    const { keys, ...meta } = plan.manifest;
    const fields: Record<string, string> = { [META_FIELD]: JSON.stringify(meta) };
    for (const [key, hash] of Object.entries(keys)) fields[KEY_FIELD + key] = hash;
    multi.hset(manifestKey, fields);
    const claimed = Object.keys(plan.set);
    if (claimed.length + plan.released.length > 0) {
      multi.eval(
        UPDATE_CLAIMS,
        1,
        this.claimsKey(scopeKey(plan.scope)),
        scopeKey(plan.scope),
        String(claimed.length),
        ...claimed,
        ...plan.released,
      );
    }
  }

  private async exec(multi: ChainableCommander): Promise<void> {
    const results = await multi.exec();
    if (results === null)
      throw new PipelineError("SINK_UNAVAILABLE", "redis transaction was discarded (a watched key changed); retrying");
    const failed = results.find(([err]) => err !== null);
    if (failed) throw failed[0] as Error;
  }

  async restore(): Promise<boolean> {
    return false; // one transaction per apply: an interrupted one was aborted by the server
  }

  async apply(plan: ApplyPlan): Promise<void> {
    await this.ready();
    if (this.cluster && /[{}]/.test(plan.scope.destination))
      throw new PipelineError(
        "SINK_REFUSED",
        `destination ${plan.scope.destination} holds a brace: in a Redis Cluster its hash slot would not be its manifest's`,
      );
    if (this.config.layout === "json") {
      // WATCH is the connection's state: applies of this layout take turns on the shared connection.
      return this.inTurn(() => this.applyJson(plan));
    }
    // hash and string: one script does the type check, data, manifest and claims, atomically.
    const { keys, ...meta } = plan.manifest;
    const args: string[] = [this.config.layout, scopeKey(plan.scope), String(this.config.ttl_seconds ?? 0)];
    const set = Object.entries(plan.set);
    args.push(String(set.length));
    for (const [key, value] of set) args.push(key, canonicalText(value));
    args.push(String(plan.stale.length), ...plan.stale, JSON.stringify(meta));
    const fields = Object.entries(keys);
    args.push(String(fields.length));
    for (const [key, hash] of fields) args.push(KEY_FIELD + key, hash);
    args.push(String(plan.released.length), ...plan.released);
    await (this.client as WithApply)
      .varstreamApply(
        this.manifestKey(scopeKey(plan.scope)),
        this.claimsKey(scopeKey(plan.scope)),
        plan.scope.destination,
        ...args,
      )
      .catch((err: Error) => {
        // The script's own refusals are the store refusing, not failing.
        const older = /STALE_WRITE version (\d+) (\d+)/.exec(err.message);
        if (older) {
          const [stored, mine] = [{ version: Number(older[1]) }, { version: Number(older[2]) }];
          throw new StaleWriteError(scopeKey(plan.scope), stored, mine);
        }
        const stale = /STALE_WRITE (\d+) (\d+)/.exec(err.message);
        if (stale && plan.manifest.position) {
          const stored = { partition: Number(stale[1]), offset: Number(stale[2]) };
          throw new StaleWriteError(scopeKey(plan.scope), stored, plan.manifest.position);
        }
        if (/refusing to write into it/.test(err.message)) throw new PipelineError("SINK_REFUSED", err.message);
        throw err;
      });
  }

  private turn: Promise<unknown> = Promise.resolve();

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async applyJson(plan: ApplyPlan): Promise<void> {
    // Read-modify-write of one value: WATCH makes EXEC fail if anybody wrote it (or the manifest) meanwhile.
    await this.client.watch(plan.scope.destination, this.manifestKey(scopeKey(plan.scope)));
    try {
      refuseOlder(scopeKey(plan.scope), await this.readManifest(plan.scope), plan);
      const doc = await this.readJson(plan.scope.destination);
      for (const k of plan.stale) delete doc[k];
      Object.assign(doc, plan.set);
      const sorted = Object.fromEntries(
        Object.keys(doc)
          .sort()
          .map((k) => [k, doc[k]]),
      );
      const multi = this.client.multi();
      if (Object.keys(sorted).length === 0) multi.del(plan.scope.destination);
      else multi.set(plan.scope.destination, JSON.stringify(sorted));
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

/** `host:port` as ioredis takes a node or a sentinel. */
function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** The destination of a scope key (`<datasource>|<destination>|<repo>:<file>`). */
function destinationOf(scopeKey: string): string {
  return scopeKey.split("|")[1] ?? "";
}
