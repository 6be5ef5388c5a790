import { canonicalText, type EtcdSinkConfig, type Scope, type Secrets, splitKey } from "@varstream/shared";
import { Etcd3, type IOperation } from "etcd3";
import { claimedBy, destinationPrefix } from "../claims.ts";
import type { ApplyPlan, Manifest, Sink } from "../sink.ts";

/** etcd refuses a transaction of more operations than its --max-txn-ops (128 by default). */
const MAX_TXN_OPS = 128;

/**
 * etcd v3 (SPEC §5.4): key `<prefix><destination>/<key with . → />`, value the canonical text. The
 * manifest is the key `<prefix>__varstream__/<scope key>` (JSON). An apply that fits one transaction is
 * one transaction; a larger one is split into transactions within etcd's op limit, the manifest in the
 * last, after a snapshot of every touched key that is restored if a later part fails.
 */
export class EtcdSink implements Sink {
  readonly kind = "etcd";
  readonly name: string;
  private readonly client: Etcd3;
  private readonly prefix: string;

  private constructor(name: string, config: EtcdSinkConfig, auth?: { username: string; password: string }) {
    this.name = name;
    this.prefix = config.prefix;
    this.client = new Etcd3({
      hosts: config.hosts,
      ...(auth ? { auth } : {}),
      dialTimeout: 3000,
      defaultCallOptions: () => ({ deadline: Date.now() + 5000 }),
    });
  }

  static async connect(name: string, config: EtcdSinkConfig, secrets: Secrets): Promise<EtcdSink> {
    const auth =
      config.username !== undefined && config.password !== undefined
        ? { username: await secrets.resolve(config.username), password: await secrets.resolve(config.password) }
        : undefined;
    return new EtcdSink(name, config, auth);
  }

  /** The etcd key of a flattened key: separators become `/`, escaped ones stay dots. */
  keyOf(destination: string, key: string): string {
    return `${this.prefix}${destination}/${splitKey(key).join("/")}`;
  }

  private manifestKey(scopeKey: string): string {
    return `${this.prefix}__varstream__/${scopeKey}`;
  }

  describe(destination: string): string {
    return `etcd keys under ${this.prefix}${destination}/`;
  }

  async readManifest(_scope: Scope, scopeKey: string): Promise<Manifest | null> {
    const text = await this.client.get(this.manifestKey(scopeKey)).string();
    return text === null ? null : (JSON.parse(text) as Manifest);
  }

  async claims(_scope: Scope, scopeKey: string, keys: string[]): Promise<Record<string, string>> {
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

  private async commit(ops: IOperation[]): Promise<void> {
    // An always-true comparison makes this an unconditional transaction.
    await this.client
      .if(this.prefix || "/", "Version", ">", -1)
      .then(...ops)
      .commit();
  }

  async apply(plan: ApplyPlan): Promise<void> {
    const writes: IOperation[] = [
      ...Object.entries(plan.set).map(([k, v]) =>
        this.client.put(this.keyOf(plan.destination, k)).value(canonicalText(v)),
      ),
      ...plan.stale.map((k) => this.client.delete().key(this.keyOf(plan.destination, k))),
    ];
    const manifest = this.client.put(this.manifestKey(plan.scopeKey)).value(JSON.stringify(plan.manifest));
    if (writes.length + 1 <= MAX_TXN_OPS) {
      await this.commit([...writes, manifest]);
      return;
    }
    const touched = [...Object.keys(plan.set), ...plan.stale];
    const snapshot = await this.readValues(plan.destination, touched);
    const oldManifest = await this.client.get(this.manifestKey(plan.scopeKey)).string();
    try {
      for (let i = 0; i < writes.length; i += MAX_TXN_OPS - 1) {
        const part = writes.slice(i, i + MAX_TXN_OPS - 1);
        await this.commit(i + MAX_TXN_OPS - 1 >= writes.length ? [...part, manifest] : part);
      }
    } catch (err) {
      const restore: IOperation[] = touched.map((k) =>
        snapshot[k] === undefined
          ? this.client.delete().key(this.keyOf(plan.destination, k))
          : this.client.put(this.keyOf(plan.destination, k)).value(snapshot[k]),
      );
      restore.push(
        oldManifest === null
          ? this.client.delete().key(this.manifestKey(plan.scopeKey))
          : this.client.put(this.manifestKey(plan.scopeKey)).value(oldManifest),
      );
      for (let i = 0; i < restore.length; i += MAX_TXN_OPS) await this.commit(restore.slice(i, i + MAX_TXN_OPS));
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
