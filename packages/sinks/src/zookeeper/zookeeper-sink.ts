import {
  canonicalText,
  destinationPrefix,
  type FlatValue,
  PipelineError,
  type Scope,
  scopeKey,
  splitKey,
} from "@varstream/shared";
import zookeeper from "node-zookeeper-client";
import { claimedBy } from "../claims.ts";
import { type ApplyPlan, type Claim, type Manifest, refuseOlder, type Sink, type SinkDeps } from "../contract.ts";
import type { ZookeeperSinkConfig } from "./config.ts";
import { guardResponseStream } from "./stream-guard.ts";

type Client = ReturnType<typeof zookeeper.createClient>;
type ACL = InstanceType<typeof zookeeper.ACL>;

const NO_NODE = zookeeper.Exception.NO_NODE;

const parentOf = (path: string) => path.slice(0, path.lastIndexOf("/"));
const depth = (path: string) => path.split("/").length;

/**
 * ZooKeeper: a znode per key, `<root>/<destination>/<key with . → />`, holding the canonical
 * text (or JSON with `encoding: json`). The manifest is the znode `<root>/__varstream__/<scope key,
 * URI-encoded>`. One `multi` per apply: the missing parent znodes (empty), creates, updates, deletes and
 * the manifest together, so a failed apply leaves nothing behind.
 */
export class ZookeeperSink implements Sink {
  readonly name: string;
  private client!: Client;
  /** digest credentials, `username:password` */
  private readonly auth: string | undefined;
  private readonly config: ZookeeperSinkConfig;
  private connected: Promise<void>;
  /** the ACL of every znode varstream creates */
  private readonly acls: ACL[];

  /** `auth`: digest credentials, `username:password` */
  private constructor(name: string, config: ZookeeperSinkConfig, auth?: string) {
    this.name = name;
    this.config = config;
    this.auth = auth;
    const { ACL, Id, Permission } = zookeeper;
    const anyone = new Id("world", "anyone");
    this.acls =
      auth === undefined
        ? [new ACL(Permission.ALL, anyone)]
        : [new ACL(Permission.ALL, new Id("auth", "")), new ACL(Permission.READ, anyone)];
    this.connected = this.newSession();
  }

  /**
   * A client and its session. ZooKeeper ends a session the server has not heard from within its
   * timeout (an outage longer than 10 s): the client never reconnects that one, so a new client with a
   * new session takes its place, at once when it is told and at the next apply otherwise.
   */
  private newSession(): Promise<void> {
    const client = zookeeper.createClient(this.config.connect, { sessionTimeout: 10_000, spinDelay: 500, retries: 2 });
    // A garbled answer stream: the connection is dropped and made again, and the request it answered
    // fails with CONNECTION_LOSS, which the apply's retry reports.
    guardResponseStream(client, () => undefined);
    // Sent with the session and again on every reconnect by the client.
    if (this.auth !== undefined) client.addAuthInfo("digest", Buffer.from(this.auth));
    client.once("expired", () => {
      if (this.client !== client) return;
      client.close();
      this.connected = this.newSession();
    });
    this.client = client;
    return this.connect();
  }

  /** Resolves the credentials (at use) and connects. */
  static async connect(name: string, config: ZookeeperSinkConfig, deps: SinkDeps): Promise<ZookeeperSink> {
    const { secrets } = deps;
    const auth =
      config.username !== undefined && config.password !== undefined
        ? `${await secrets.resolve(config.username)}:${await secrets.resolve(config.password)}`
        : undefined;
    return new ZookeeperSink(name, config, auth);
  }

  private connect(): Promise<void> {
    return new Promise((resolve) => {
      this.client.once("connected", () => resolve());
      this.client.connect();
    });
  }

  /**
   * Waits for the session (first connect, or a reconnect after a lost connection), at most 5 s. Still
   * away after that: a client that gave up reconnecting, or whose session ended unnoticed, never comes
   * back by itself, so the next attempt starts from a new client and session.
   */
  private async ready(): Promise<void> {
    if (this.client.getState() === zookeeper.State.EXPIRED) {
      this.client.close();
      this.connected = this.newSession();
    }
    const client = this.client;
    try {
      await this.waitConnected(this.connected);
      const state = client.getState();
      if (state === zookeeper.State.SYNC_CONNECTED || state === zookeeper.State.CONNECTED_READ_ONLY) return;
      let onConnected: (() => void) | undefined;
      const reconnected = new Promise<void>((resolve) => {
        onConnected = resolve;
        client.once("connected", resolve);
      });
      // Many applies may wait at once while the server is away: each takes its listener back.
      await this.waitConnected(reconnected).finally(() => client.removeListener("connected", onConnected!));
    } catch (err) {
      if (this.client === client) {
        client.close();
        this.connected = this.newSession();
      }
      throw err;
    }
  }

  private async waitConnected(connected: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PipelineError("SINK_UNAVAILABLE", `zookeeper ${this.config.connect} is not reachable`)),
        5000,
      );
    });
    await Promise.race([connected, timeout]).finally(() => clearTimeout(timer));
  }

  /** A key's znode. A destination's slashes separate znodes, leading, trailing and doubled ones aside:
   * an absolute destination (varTrack's `/app/{env}`) lands under the root like a relative one. */
  private path(destination: string, key: string): string {
    const parts = destination.split("/").filter((p) => p !== "");
    return [this.config.root === "/" ? "" : this.config.root, ...parts, ...splitKey(key)].join("/");
  }

  /**
   * The scope's key with its destination as znodes see it (leading, trailing and doubled slashes dropped):
   * `/app` and `app` are one destination here, so their scopes share manifests' claims.
   */
  private keyOf(scope: Scope): string {
    return scopeKey({
      ...scope,
      destination: scope.destination
        .split("/")
        .filter((p) => p !== "")
        .join("/"),
    });
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

  private async get(path: string): Promise<Buffer | undefined> {
    return (await this.getVersioned(path))?.data;
  }

  private getVersioned(path: string): Promise<{ data: Buffer; version: number } | undefined> {
    return new Promise((resolve, reject) =>
      this.client.getData(path, (err, data, stat) => {
        if (err && "getCode" in err && err.getCode() === NO_NODE) return resolve(undefined);
        if (err) return reject(err);
        resolve({ data: data ?? Buffer.alloc(0), version: stat.version });
      }),
    );
  }

  private exists(path: string): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.client.exists(path, (err, stat) => (err ? reject(err) : resolve(Boolean(stat)))),
    );
  }

  readManifest(scope: Scope): Promise<Manifest | null> {
    return this.manifestAt(this.keyOf(scope));
  }

  private async manifestAt(scopeKey: string): Promise<Manifest | null> {
    await this.ready();
    const data = await this.get(this.manifestPath(scopeKey));
    return data === undefined ? null : (JSON.parse(data.toString("utf8")) as Manifest);
  }

  claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>> {
    return this.claimsAt(this.keyOf(scope), keys);
  }

  private async claimsAt(scopeKey: string, keys: string[]): Promise<Record<string, Claim>> {
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
    const others = await Promise.all(
      children
        .map((child) => decodeURIComponent(child))
        .filter((other) => other !== scopeKey && other.startsWith(prefix))
        .map(async (other): Promise<[string, Manifest | null]> => [other, await this.manifestAt(other)]),
    );
    return claimedBy(keys, others);
  }

  async readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>> {
    await this.ready();
    // Requests sent together share the session's connection and come back in order.
    const data = await Promise.all(keys.map((k) => this.get(this.path(destination, k))));
    return Object.fromEntries(keys.map((k, i) => [k, data[i] === undefined ? undefined : this.decodeText(data[i])]));
  }

  async restore(): Promise<boolean> {
    return false; // one multi per apply: nothing half-done to undo
  }

  async apply(plan: ApplyPlan): Promise<void> {
    await this.ready();
    // The manifest as it is now: the multi below sets it at this version only (or creates it, failing
    // if another apply did meanwhile), and never over the apply of a later keysets record.
    const manifestPath = this.manifestPath(this.keyOf(plan.scope));
    const stored = await this.getVersioned(manifestPath);
    refuseOlder(this.keyOf(plan.scope), stored ? (JSON.parse(stored.data.toString("utf8")) as Manifest) : null, plan);
    const writes = Object.entries(plan.set).map(([key, value]) => ({
      path: this.path(plan.scope.destination, key),
      data: this.encode(value),
    }));
    writes.push({
      path: this.manifestPath(this.keyOf(plan.scope)),
      data: Buffer.from(JSON.stringify(plan.manifest), "utf8"),
    });
    const stale = plan.stale.map((key) => this.path(plan.scope.destination, key));
    // Existence checks side by side (one session, answered in order), not one round trip after another.
    const [present, stalePresent] = await Promise.all([this.existAll(writes.map((w) => w.path)), this.existAll(stale)]);
    present[present.length - 1] = stored !== undefined; // the manifest: as read above, not a moment later
    const missing = writes.filter((_, i) => !present[i]);
    // The parents of new znodes that are missing too, created (empty) in the same multi.
    const written = new Set(writes.map((w) => w.path));
    const ancestors = new Set<string>();
    for (const { path } of missing) {
      for (let parent = parentOf(path); parent !== ""; parent = parentOf(parent)) {
        if (!written.has(parent)) ancestors.add(parent);
      }
    }
    const candidates = [...ancestors];
    const ancestorPresent = await this.existAll(candidates);
    const creates: { path: string; data?: Buffer }[] = [
      ...candidates.filter((_, i) => !ancestorPresent[i]).map((path) => ({ path })),
      ...missing,
    ].sort((a, b) => depth(a.path) - depth(b.path));
    const txn = this.client.transaction();
    for (const { path, data } of creates) txn.create(path, data ?? Buffer.alloc(0), this.acls);
    writes.forEach(({ path, data }, i) => {
      if (present[i]) txn.setData(path, data, path === manifestPath && stored ? stored.version : -1);
    });
    stale.forEach((path, i) => {
      if (stalePresent[i]) txn.remove(path, -1);
    });
    await new Promise<void>((resolve, reject) => txn.commit((err) => (err ? reject(err) : resolve())));
  }

  private existAll(paths: string[]): Promise<boolean[]> {
    return Promise.all(paths.map((path) => this.exists(path)));
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
