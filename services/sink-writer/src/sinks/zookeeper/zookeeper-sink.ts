import { canonicalText, type FlatValue, type Scope, splitKey, type ZookeeperSinkConfig } from "@varstream/shared";
import zookeeper from "node-zookeeper-client";
import { claimedBy, destinationPrefix } from "../claims.ts";
import type { ApplyPlan, Claim, Manifest, Sink } from "../sink.ts";

type Client = ReturnType<typeof zookeeper.createClient>;
type Transaction = ReturnType<Client["transaction"]>;

const NO_NODE = zookeeper.Exception.NO_NODE;

/**
 * ZooKeeper (SPEC §5.4): a znode per key, `<root>/<destination>/<key with . → />`, holding the canonical
 * text (or JSON with `encoding: json`). The manifest is the znode `<root>/__varstream__/<scope key,
 * URI-encoded>`. One `multi` per apply: the missing parent znodes (empty), creates, updates, deletes and
 * the manifest together, so a failed apply leaves nothing behind.
 */
export class ZookeeperSink implements Sink {
  readonly kind = "zookeeper";
  readonly name: string;
  private readonly client: Client;
  private readonly config: ZookeeperSinkConfig;
  private connected: Promise<void>;

  constructor(name: string, config: ZookeeperSinkConfig) {
    this.name = name;
    this.config = config;
    this.client = zookeeper.createClient(config.connect, { sessionTimeout: 10_000, spinDelay: 500, retries: 2 });
    this.connected = this.connect();
  }

  private connect(): Promise<void> {
    return new Promise((resolve) => {
      this.client.once("connected", () => resolve());
      this.client.connect();
    });
  }

  /** Waits for the session (first connect, or a reconnect after a lost connection), at most 5 s. */
  private async ready(): Promise<void> {
    await this.waitConnected(this.connected);
    const state = this.client.getState();
    if (state === zookeeper.State.SYNC_CONNECTED || state === zookeeper.State.CONNECTED_READ_ONLY) return;
    await this.waitConnected(new Promise<void>((resolve) => this.client.once("connected", () => resolve())));
  }

  private async waitConnected(connected: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`zookeeper ${this.config.connect} is not reachable`)), 5000);
    });
    await Promise.race([connected, timeout]).finally(() => clearTimeout(timer));
  }

  private path(destination: string, key: string): string {
    return `${this.config.root === "/" ? "" : this.config.root}/${destination}/${splitKey(key).join("/")}`;
  }

  private manifestPath(scopeKey: string): string {
    return `${this.config.root === "/" ? "" : this.config.root}/__varstream__/${encodeURIComponent(scopeKey)}`;
  }

  private encode(value: FlatValue): Buffer {
    return Buffer.from(this.config.encoding === "json" ? JSON.stringify(value) : canonicalText(value), "utf8");
  }

  private decodeText(data: Buffer): string {
    const text = data.toString("utf8");
    return this.config.encoding === "json" ? canonicalText(JSON.parse(text) as FlatValue) : text;
  }

  private get(path: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) =>
      this.client.getData(path, (err, data) => {
        if (err && "getCode" in err && err.getCode() === NO_NODE) return resolve(undefined);
        if (err) return reject(err);
        resolve(data ?? Buffer.alloc(0));
      }),
    );
  }

  private exists(path: string): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.client.exists(path, (err, stat) => (err ? reject(err) : resolve(Boolean(stat)))),
    );
  }

  /** Adds to `txn` a create of each missing ancestor of `path`, top down, once per apply. */
  private async createParents(txn: Transaction, path: string, planned: Set<string>): Promise<void> {
    const missing: string[] = [];
    for (let parent = path.slice(0, path.lastIndexOf("/")); parent !== ""; ) {
      if (planned.has(parent) || (await this.exists(parent))) break;
      missing.push(parent);
      parent = parent.slice(0, parent.lastIndexOf("/"));
    }
    for (const parent of missing.reverse()) {
      planned.add(parent);
      txn.create(parent);
    }
  }

  describe(destination: string): string {
    return `zookeeper znodes under ${this.config.root}/${destination}`;
  }

  async readManifest(_scope: Scope, scopeKey: string): Promise<Manifest | null> {
    await this.ready();
    const data = await this.get(this.manifestPath(scopeKey));
    return data === undefined ? null : (JSON.parse(data.toString("utf8")) as Manifest);
  }

  async claims(scope: Scope, scopeKey: string, keys: string[]): Promise<Record<string, Claim>> {
    await this.ready();
    const dir = this.manifestPath("").slice(0, -1);
    const children = await new Promise<string[]>((resolve, reject) =>
      this.client.getChildren(dir, (err, names) => {
        if (err && "getCode" in err && err.getCode() === NO_NODE) return resolve([]);
        if (err) return reject(err);
        resolve(names);
      }),
    );
    const prefix = destinationPrefix(scopeKey);
    const others: [string, Manifest | null][] = [];
    for (const child of children) {
      const other = decodeURIComponent(child);
      if (other !== scopeKey && other.startsWith(prefix)) others.push([other, await this.readManifest(scope, other)]);
    }
    return claimedBy(keys, others);
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    await this.ready();
    const out: Record<string, string | undefined> = {};
    for (const k of keys) {
      const data = await this.get(this.path(destination, k));
      out[k] = data === undefined ? undefined : this.decodeText(data);
    }
    return out;
  }

  async restore(): Promise<boolean> {
    return false; // one multi per apply: nothing half-done to undo
  }

  async apply(plan: ApplyPlan): Promise<void> {
    await this.ready();
    const txn = this.client.transaction();
    const planned = new Set<string>();
    for (const [key, value] of Object.entries(plan.set)) {
      const path = this.path(plan.destination, key);
      if (await this.exists(path)) txn.setData(path, this.encode(value), -1);
      else {
        await this.createParents(txn, path, planned);
        planned.add(path);
        txn.create(path, this.encode(value));
      }
    }
    for (const key of plan.stale) {
      const path = this.path(plan.destination, key);
      if (await this.exists(path)) txn.remove(path, -1);
    }
    const manifestPath = this.manifestPath(plan.scopeKey);
    const manifest = Buffer.from(JSON.stringify(plan.manifest), "utf8");
    if (await this.exists(manifestPath)) txn.setData(manifestPath, manifest, -1);
    else {
      await this.createParents(txn, manifestPath, planned);
      txn.create(manifestPath, manifest);
    }
    await new Promise<void>((resolve, reject) => txn.commit((err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
