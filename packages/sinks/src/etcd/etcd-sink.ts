import { canonicalText, destinationPrefix, type Scope, scopeKey, splitKey } from "@varstream/shared";
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";
import { Etcd3, type IOperation, isRecoverableError } from "etcd3";
import { claimedBy } from "../claims.ts";
import { type ApplyPlan, type Claim, type Manifest, refuseOlder, type Sink, type SinkDeps } from "../contract.ts";
import type { EtcdSinkConfig } from "./config.ts";

/** etcd refuses a transaction of more operations than its --max-txn-ops (128 by default). */
const MAX_TXN_OPS = 128;

/** What a split apply journals before its first part: every touched key's old value, and the old manifest. */
interface Rollback {
  /** etcd key → old value (null: the key did not exist) */
  values: Record<string, string | null>;
  manifest: string | null;
}

/**
 * etcd v3: key `<prefix><destination>/<key with . → />`, value the canonical text. The
 * manifest is the key `<prefix>__varstream__/<scope key>` (JSON). An apply that fits one transaction is
 * one transaction. A larger one is split into transactions within etcd's op limit: first the snapshot of
 * every touched key and of the manifest is stored at `<manifest key>\0rollback`, then the parts, the
 * last one writing the manifest and deleting the snapshot. A part that fails is undone from the snapshot
 * at once, or — when etcd itself went away — by the next read of the scope's manifest.
 */
export class EtcdSink implements Sink {
  readonly name: string;
  private readonly client: Etcd3;
  private readonly prefix: string;

  private constructor(
    name: string,
    config: EtcdSinkConfig,
    auth: { username: string; password: string } | undefined,
    ca: string | undefined,
  ) {
    this.name = name;
    this.prefix = config.prefix;
    this.client = new Etcd3({
      hosts: config.hosts,
      ...(auth ? { auth } : {}),
      ...(ca === undefined ? {} : { credentials: { rootCertificate: Buffer.from(ca) } }),
      dialTimeout: 3000,
      // A host that failed 3 times in a row is skipped for 1 s (etcd3's default: 5 s). The sink writer
      // retries with its own backoff; a server that is back should get the next attempt.
      faultHandling: {
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      },
      defaultCallOptions: () => ({ deadline: Date.now() + 5000 }),
    });
  }

  static async connect(name: string, config: EtcdSinkConfig, deps: SinkDeps): Promise<EtcdSink> {
    const { secrets } = deps;
    const auth =
      config.username !== undefined && config.password !== undefined
        ? { username: await secrets.resolve(config.username), password: await secrets.resolve(config.password) }
        : undefined;
    const ca = config.tls_ca === undefined ? undefined : await secrets.resolve(config.tls_ca);
    return new EtcdSink(name, config, auth, ca);
  }

  /** The etcd key of a flattened key: separators become `/`, escaped ones stay dots. */
  keyOf(destination: string, key: string): string {
    return `${this.prefix}${destination}/${splitKey(key).join("/")}`;
  }

  private manifestKey(scopeKey: string): string {
    return `${this.prefix}__varstream__/${scopeKey}`;
  }

  private rollbackKey(scopeKey: string): string {
    return `${this.manifestKey(scopeKey)}\u0000rollback`;
  }

  readManifest(scope: Scope): Promise<Manifest | null> {
    return this.manifestAt(scopeKey(scope));
  }

  private async manifestAt(scopeKey: string): Promise<Manifest | null> {
    // One range read returns the manifest and, after an interrupted apply, its snapshot.
    const key = this.manifestKey(scopeKey);
    const found = await this.client
      .getAll()
      .inRange({ start: key, end: `${key}\u0001` })
      .strings();
    const rollback = found[this.rollbackKey(scopeKey)];
    let text = found[key];
    if (rollback !== undefined) {
      const snapshot = JSON.parse(rollback) as Rollback;
      await this.undo(scopeKey, snapshot);
      text = snapshot.manifest ?? undefined;
    }
    return text === undefined ? null : (JSON.parse(text) as Manifest);
  }

  restore(scope: Scope): Promise<boolean> {
    return this.restoreAt(scopeKey(scope));
  }

  private async restoreAt(scopeKey: string): Promise<boolean> {
    const rollback = await this.client.get(this.rollbackKey(scopeKey)).string();
    if (rollback === null) return false;
    await this.undo(scopeKey, JSON.parse(rollback) as Rollback);
    return true;
  }

  /** Writes the snapshot back, in parts within the op limit; the last part drops the snapshot. */
  private async undo(scopeKey: string, snapshot: Rollback): Promise<void> {
    const ops: IOperation[] = Object.entries(snapshot.values).map(([key, value]) =>
      value === null ? this.client.delete().key(key) : this.client.put(key).value(value),
    );
    const manifestKey = this.manifestKey(scopeKey);
    ops.push(
      snapshot.manifest === null
        ? this.client.delete().key(manifestKey)
        : this.client.put(manifestKey).value(snapshot.manifest),
    );
    ops.push(this.client.delete().key(this.rollbackKey(scopeKey)));
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) await this.commit(ops.slice(i, i + MAX_TXN_OPS));
  }

  claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>> {
    return this.claimsAt(scopeKey(scope), keys);
  }

  private async claimsAt(scopeKey: string, keys: string[]): Promise<Record<string, Claim>> {
    const base = this.manifestKey("");
    const all = await this.client
      .getAll()
      .prefix(this.manifestKey(destinationPrefix(scopeKey)))
      .strings();
    return claimedBy(
      keys,
      Object.entries(all)
        .map(([key, text]): [string, Manifest] => [key.slice(base.length), JSON.parse(text) as Manifest])
        .filter(([other]) => other !== scopeKey),
    );
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    const out: Record<string, string | undefined> = {};
    await Promise.all(
      keys.map(async (k) => {
        out[k] = (await this.client.get(this.keyOf(destination, k)).string()) ?? undefined;
      }),
    );
    return out;
  }

  private async commit(ops: IOperation[], unchanged?: { key: string; modRevision: string }): Promise<void> {
    // Without a guard, an always-true comparison makes this an unconditional transaction.
    const txn = unchanged
      ? this.client.if(unchanged.key, "Mod", "==", Number(unchanged.modRevision))
      : this.client.if(this.prefix || "/", "Version", ">", -1);
    const res = await txn.then(...ops).commit();
    if (!res.succeeded) throw new Error(`${unchanged?.key} changed during the apply; retrying`);
  }

  async apply(plan: ApplyPlan): Promise<void> {
    const writes: IOperation[] = [
      ...Object.entries(plan.set).map(([k, v]) =>
        this.client.put(this.keyOf(plan.scope.destination, k)).value(canonicalText(v)),
      ),
      ...plan.stale.map((k) => this.client.delete().key(this.keyOf(plan.scope.destination, k))),
    ];
    const manifestKey = this.manifestKey(scopeKey(plan.scope));
    const manifest = this.client.put(manifestKey).value(JSON.stringify(plan.manifest));
    // The manifest as it is now, and its revision: the write happens only if nobody replaced it since
    // (mod revision 0: still absent), and never over the apply of a later keysets record.
    const found = await this.client.get(manifestKey).exec();
    const kv = found.kvs[0];
    refuseOlder(scopeKey(plan.scope), kv ? (JSON.parse(kv.value.toString()) as Manifest) : null, plan);
    const guard = { key: manifestKey, modRevision: kv?.mod_revision ?? "0" };
    if (writes.length + 1 <= MAX_TXN_OPS) {
      await this.commit([...writes, manifest], guard);
      return;
    }
    // Too many operations for one transaction: journal a snapshot first, so any part can be undone.
    const touched = [...Object.keys(plan.set), ...plan.stale];
    const current = await this.readValues(plan.scope.destination, touched);
    const snapshot: Rollback = {
      values: Object.fromEntries(touched.map((k) => [this.keyOf(plan.scope.destination, k), current[k] ?? null])),
      manifest: await this.client.get(this.manifestKey(scopeKey(plan.scope))).string(),
    };
    await this.commit([this.client.put(this.rollbackKey(scopeKey(plan.scope))).value(JSON.stringify(snapshot))], guard);
    const done = this.client.delete().key(this.rollbackKey(scopeKey(plan.scope)));
    try {
      for (let i = 0; i < writes.length; i += MAX_TXN_OPS - 2) {
        const part = writes.slice(i, i + MAX_TXN_OPS - 2);
        await this.commit(i + MAX_TXN_OPS - 2 >= writes.length ? [...part, manifest, done] : part);
      }
    } catch (err) {
      // etcd may be gone: then the snapshot stays, and the next readManifest of the scope undoes the parts.
      await this.undo(scopeKey(plan.scope), snapshot).catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
