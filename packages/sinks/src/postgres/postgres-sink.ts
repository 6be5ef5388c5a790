import { canonicalText, destinationPrefix, type FlatValue, type Scope, scopeKey } from "@varstream/shared";
import pg from "pg";
import { claimedBy } from "../claims.ts";
import { type ApplyPlan, type Claim, type Manifest, refuseOlder, type Sink, type SinkDeps } from "../contract.ts";
import type { PostgresSinkConfig } from "./config.ts";

const quote = (name: string) =>
  name
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");

/**
 * PostgreSQL: the table `(destination, key, value jsonb, scope, commit, updated_at)`,
 * created if missing, values as jsonb so they keep their types; manifests in `<table>_manifests`.
 * One transaction per apply: data and manifest commit together or roll back together.
 */
export class PostgresSink implements Sink {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly manifests: string;

  private constructor(
    name: string,
    config: PostgresSinkConfig,
    user: string,
    password: string | undefined,
    ca: string | undefined,
  ) {
    this.name = name;
    this.table = quote(config.table);
    this.manifests = quote(`${config.table}_manifests`);
    this.pool = new pg.Pool({
      host: config.host,
      port: config.port,
      database: config.database,
      user,
      ...(password === undefined ? {} : { password }),
      ...(config.ssl ? { ssl: { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) } } : {}),
      max: 4,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 10_000,
    });
    // An idle client losing its server must not crash the process; the next query reconnects.
    this.pool.on("error", () => undefined);
  }

  static async connect(name: string, config: PostgresSinkConfig, deps: SinkDeps): Promise<PostgresSink> {
    const { secrets } = deps;
    const user = await secrets.resolve(config.user);
    const password = config.password === undefined ? undefined : await secrets.resolve(config.password);
    const ca = config.ssl_ca === undefined ? undefined : await secrets.resolve(config.ssl_ca);
    const sink = new PostgresSink(name, config, user, password, ca);
    // Created on first use, so a server that is down at start does not keep the sink writer down.
    return sink;
  }

  private ready: Promise<void> | undefined;

  private ensureTables(): Promise<void> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           destination text NOT NULL,
           key text NOT NULL,
           value jsonb,
           scope text NOT NULL,
           commit text NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (destination, key));
         CREATE TABLE IF NOT EXISTS ${this.manifests} (
           scope text PRIMARY KEY,
           manifest jsonb NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now())`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }

  readManifest(scope: Scope): Promise<Manifest | null> {
    return this.manifestAt(scopeKey(scope));
  }

  private async manifestAt(scopeKey: string): Promise<Manifest | null> {
    await this.ensureTables();
    const res = await this.pool.query<{ manifest: Manifest }>(
      `SELECT manifest FROM ${this.manifests} WHERE scope = $1`,
      [scopeKey],
    );
    return res.rows[0]?.manifest ?? null;
  }

  claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>> {
    return this.claimsAt(scopeKey(scope), keys);
  }

  private async claimsAt(scopeKey: string, keys: string[]): Promise<Record<string, Claim>> {
    await this.ensureTables();
    const res = await this.pool.query<{ scope: string; manifest: Manifest }>(
      // Only the manifests that hold one of the keys come back (jsonb ?| : any of these top-level keys).
      `SELECT scope, manifest FROM ${this.manifests}
        WHERE starts_with(scope, $1) AND scope <> $2 AND manifest->'keys' ?| $3::text[]`,
      [destinationPrefix(scopeKey), scopeKey, keys],
    );
    return claimedBy(
      keys,
      res.rows.map((r): [string, Manifest] => [r.scope, r.manifest]),
    );
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    await this.ensureTables();
    const res = await this.pool.query<{ key: string; value: FlatValue }>(
      `SELECT key, value FROM ${this.table} WHERE destination = $1 AND key = ANY($2)`,
      [destination, keys],
    );
    const found = new Map(res.rows.map((r) => [r.key, canonicalText(r.value)]));
    return Object.fromEntries(keys.map((k) => [k, found.get(k)]));
  }

  async restore(): Promise<boolean> {
    return false; // one transaction per apply: an interrupted one was aborted by the server
  }

  async apply(plan: ApplyPlan): Promise<void> {
    await this.ensureTables();
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A checked-out client reports a lost connection as an 'error' event too: unheard, it would end the process.
    const lost = (err: Error) => {
      broken = err;
    };
    client.on("error", lost);
    try {
      await client.query("BEGIN");
      // One apply of a scope at a time (also its first, when there is no manifest row to lock yet),
      // and none over the apply of a later keysets record.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
        `${this.manifests}|${scopeKey(plan.scope)}`,
      ]);
      const stored = await client.query<{ manifest: Manifest }>(
        `SELECT manifest FROM ${this.manifests} WHERE scope = $1`,
        [scopeKey(plan.scope)],
      );
      refuseOlder(scopeKey(plan.scope), stored.rows[0]?.manifest ?? null, plan);
      const set = Object.entries(plan.set);
      if (set.length > 0) {
        await client.query(
          `INSERT INTO ${this.table} (destination, key, value, scope, commit, updated_at)
           SELECT $1, k, v, $4, $5, now() FROM unnest($2::text[], $3::jsonb[]) AS t(k, v)
           ON CONFLICT (destination, key) DO UPDATE
             SET value = EXCLUDED.value, scope = EXCLUDED.scope, commit = EXCLUDED.commit, updated_at = now()`,
          [
            plan.scope.destination,
            set.map(([k]) => k),
            set.map(([, v]) => JSON.stringify(v)),
            scopeKey(plan.scope),
            plan.manifest.commit,
          ],
        );
      }
      if (plan.stale.length > 0) {
        await client.query(`DELETE FROM ${this.table} WHERE destination = $1 AND key = ANY($2)`, [
          plan.scope.destination,
          plan.stale,
        ]);
      }
      await client.query(
        `INSERT INTO ${this.manifests} (scope, manifest, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (scope) DO UPDATE SET manifest = EXCLUDED.manifest, updated_at = now()`,
        [scopeKey(plan.scope), JSON.stringify(plan.manifest)],
      );
      await client.query("COMMIT");
    } catch (err) {
      // A lost connection rolls the transaction back on the server; the client is not reused.
      await client.query("ROLLBACK").catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
      throw err;
    } finally {
      client.off("error", lost);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
