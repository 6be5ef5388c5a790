import {
  canonicalText,
  escapeSegment,
  type FlatValue,
  FORBIDDEN_SEGMENTS,
  PipelineError,
  type Scope,
  type Secrets,
  scopeKey,
  splitKey,
} from "@varstream/shared";
import {
  type AnyBulkWriteOperation,
  BSON,
  type Collection,
  type Db,
  MongoClient,
  type MongoClientOptions,
} from "mongodb";
import { claimedBy } from "../claims.ts";
import { type ApplyPlan, type Claim, type Manifest, refuseOlder, type Sink, type SinkDeps } from "../contract.ts";
import type { MongoSinkConfig } from "./config.ts";

/**
 * Writes per bulk request. FerretDB v1 stops answering an update command of 100 or more operations on
 * documents that exist (measured with v1.24.2); 50 keeps clear of it and costs MongoDB nothing measurable.
 */
const BULK_OPS = 50;

/** The collection holding one document per scope: its manifest, and the snapshot of an apply in progress. */
export const MANIFESTS = "__varstream__";

/** A config key's document. */
interface KeyDoc {
  _id: string;
  destination: string;
  key: string;
  value: FlatValue;
}

/** A scope's document in {@link MANIFESTS}. */
interface ScopeDoc {
  _id: string;
  destination: string;
  /** bumped by every write of the document: the compare of each compare-and-set */
  rev: number;
  /** the Manifest as JSON (its keys hold dots, which a document's field names may not) */
  manifest?: string;
  /** an apply in progress: what it will touch, as it was before (JSON of {@link Snapshot}) */
  rollback?: string;
}

/**
 * A scope's document in the `file` layout: the file's keys nested under `data` (a document's field names
 * may not hold dots), labelled with where they came from as varTrack's file strategy labels them.
 */
export interface FileDoc {
  _id: string;
  destination: string;
  data: Record<string, unknown>;
  _vt_managed_by: "varstream";
  _vt_datasource: string;
  _vt_env?: string;
  _vt_tenant?: string;
  _vt_repo: string;
  _vt_branch?: string;
  _vt_commit: string;
  _vt_file: string;
}

/**
 * What an apply will touch, as it was before: each key's value (`[value]`; null: no document) in the `key`
 * layout, the scope's whole document (null: none) in the `file` layout; and the manifest before it.
 */
interface Snapshot {
  collection: string;
  values: Record<string, [FlatValue] | null>;
  /** the document as Extended JSON (canonical: an ObjectId, a Date or a Decimal128 comes back as one) */
  file?: { id: string; was: string | null };
  manifest: string | null;
}

/**
 * MongoDB (and wire-compatible servers such as FerretDB): one document per config key,
 * `{_id: "<destination>|<key>", destination, key, value}`, the value kept with its JSON type, in the
 * collection `collection` — or, unset, in the collection named after the destination. Each scope's
 * manifest is a document of `__varstream__`. Without multi-document transactions (FerretDB has none; a
 * standalone mongod neither), an apply journals first: a compare-and-set on the scope's document stores
 * the snapshot of every key it will touch, then one unordered bulk write sets and deletes, then a
 * second compare-and-set writes the manifest and drops the snapshot. An apply cut anywhere is undone
 * from the snapshot: at once, or by the next read of the scope when the server went away.
 */
export class MongoSink implements Sink {
  readonly name: string;
  private readonly client: MongoClient;
  private readonly db: Db;
  private readonly collection: string | undefined;
  private readonly layout: MongoSinkConfig["layout"];
  /** the collections whose indexes this process made sure of */
  private readonly indexed = new Set<string>();

  private constructor(name: string, config: MongoSinkConfig, uri: string, options: MongoClientOptions) {
    this.name = name;
    this.collection = config.collection;
    this.layout = config.layout;
    this.client = new MongoClient(uri, options);
    this.db = this.client.db(config.database);
  }

  static async connect(name: string, config: MongoSinkConfig, deps: SinkDeps): Promise<MongoSink> {
    return new MongoSink(
      name,
      config,
      await deps.secrets.resolve(config.uri),
      await clientOptions(config, deps.secrets),
    );
  }

  private keysOf(destination: string): Collection<KeyDoc> {
    return this.db.collection<KeyDoc>(this.collection ?? destination);
  }

  private filesOf(destination: string): Collection<FileDoc> {
    return this.db.collection<FileDoc>(this.collection ?? destination);
  }

  private get scopes(): Collection<ScopeDoc> {
    return this.db.collection<ScopeDoc>(MANIFESTS);
  }

  /**
   * The indexes readers and the claims lookup go by — a destination's manifests, and a destination's
   * keys (`find({destination})`, `findOne({destination, key})`) — once per collection and process, best
   * effort (every query works without them).
   */
  private async ensureIndexes(destination: string): Promise<void> {
    const keys = this.collection ?? destination;
    if (this.indexed.has(keys)) return;
    if (this.indexed.size === 0) await this.scopes.createIndex({ destination: 1 }).catch(() => undefined);
    const index: Record<string, 1> =
      this.layout === "file" ? { destination: 1, _vt_env: 1, _vt_file: 1 } : { destination: 1, key: 1 };
    await this.keysOf(destination)
      .createIndex(index)
      .catch(() => undefined);
    this.indexed.add(keys);
  }

  async readManifest(scope: Scope): Promise<Manifest | null> {
    const found = await this.settled(scopeKey(scope));
    return found?.manifest === undefined ? null : (JSON.parse(found.manifest) as Manifest);
  }

  /** The scope's document with no apply left half-done: a snapshot found is undone first. */
  private async settled(id: string): Promise<ScopeDoc | null> {
    let found = await this.scopes.findOne({ _id: id });
    if (found?.rollback === undefined) return found;
    await this.undo(found);
    found = await this.scopes.findOne({ _id: id });
    if (found?.rollback !== undefined) throw new Error(`an apply of ${id} is being undone; retrying`);
    return found;
  }

  async restore(scope: Scope): Promise<boolean> {
    const found = await this.scopes.findOne({ _id: scopeKey(scope) });
    return found === null ? false : this.undo(found);
  }

  /**
   * Undoes the snapshot `doc` holds, if the stored document is still that one: claims it first (its
   * `rev` moves on, the snapshot stays, so a second undoer or the apply itself backs off), writes the
   * documents back, then the old manifest, dropping the snapshot. Cut anywhere, the snapshot is still
   * there for the next read. False when there was nothing (left) to undo.
   */
  private async undo(doc: ScopeDoc): Promise<boolean> {
    if (doc.rollback === undefined) return false;
    const snapshot = JSON.parse(doc.rollback) as Snapshot;
    const claimed = await this.scopes.updateOne({ _id: doc._id, rev: doc.rev }, { $set: { rev: doc.rev + 1 } });
    if (claimed.matchedCount !== 1) return false;
    const ops = Object.entries(snapshot.values).map(([id, was]): AnyBulkWriteOperation<KeyDoc> => {
      if (was === null) return { deleteOne: { filter: { _id: id } } };
      const [destination, key] = splitId(id);
      return {
        replaceOne: { filter: { _id: id }, replacement: { destination, key, value: was[0] }, upsert: true },
      };
    });
    await bulk(this.db.collection<KeyDoc>(snapshot.collection), ops);
    if (snapshot.file) {
      const files = this.db.collection<FileDoc>(snapshot.collection);
      const { id, was } = snapshot.file;
      if (was === null) await files.deleteOne({ _id: id });
      else await files.replaceOne({ _id: id }, BSON.EJSON.parse(was, { relaxed: false }) as FileDoc, { upsert: true });
    }
    const filter = { _id: doc._id, rev: doc.rev + 1 };
    const rev = doc.rev + 2;
    if (snapshot.manifest === null)
      await this.scopes.updateOne(filter, { $set: { rev }, $unset: { manifest: true, rollback: true } });
    else
      await this.scopes.updateOne(filter, { $set: { rev, manifest: snapshot.manifest }, $unset: { rollback: true } });
    return true;
  }

  async claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>> {
    // Each file its own document: two files of one destination never hold one key between them.
    if (this.layout === "file") return {};
    await this.ensureIndexes(scope.destination);
    const mine = scopeKey(scope);
    const others = await this.scopes
      .find({ destination: scope.destination, _id: { $ne: mine }, manifest: { $exists: true } })
      .toArray();
    return claimedBy(
      keys,
      others.map((d): [string, Manifest] => [d._id, JSON.parse(d.manifest!) as Manifest]),
    );
  }

  async readValues(destination: string, keys: string[], scope?: Scope): Promise<Record<string, string | undefined>> {
    if (this.layout === "file") return this.fileValues(destination, keys, scope);
    const found = await this.valuesOf(destination, keys);
    // A stored null is a value (its canonical text is empty); only a missing document is absent.
    return Object.fromEntries(
      keys.map((k) => {
        const id = idOf(destination, k);
        return [k, found.has(id) ? canonicalText(found.get(id) as FlatValue) : undefined];
      }),
    );
  }

  /** In the `file` layout: the keys of the scope's document, or of every file's document at the destination. */
  private async fileValues(destination: string, keys: string[], scope?: Scope) {
    const docs = await this.filesOf(destination)
      .find(scope ? { _id: scopeKey(scope) } : { destination })
      .toArray();
    const found: Record<string, FlatValue> = {};
    for (const d of docs) Object.assign(found, flatten(d.data));
    return Object.fromEntries(
      keys.map((k) => [k, Object.hasOwn(found, k) ? canonicalText(found[k] as FlatValue) : undefined]),
    );
  }

  /** The stored value of each key's document that exists (a null value stays null). */
  private async valuesOf(destination: string, keys: string[]): Promise<Map<string, FlatValue | null>> {
    const out = new Map<string, FlatValue | null>();
    const ids = keys.map((k) => idOf(destination, k));
    for (let i = 0; i < ids.length; i += 10_000) {
      const docs = await this.keysOf(destination)
        .find({ _id: { $in: ids.slice(i, i + 10_000) } }, { projection: { value: 1 } })
        .toArray();
      for (const d of docs) out.set(d._id, d.value);
    }
    return out;
  }

  async apply(plan: ApplyPlan): Promise<void> {
    await this.ensureIndexes(plan.scope.destination);
    const id = scopeKey(plan.scope);
    // A snapshot left by a cut apply is undone first; never over a later record's apply.
    const current = await this.settled(id);
    refuseOlder(id, current?.manifest === undefined ? null : (JSON.parse(current.manifest) as Manifest), plan);
    const step = this.layout === "file" ? await this.fileStep(plan) : await this.keyStep(plan);
    const snapshot: Snapshot = { ...step.before, manifest: current?.manifest ?? null };
    const rev = (current?.rev ?? 0) + 1;
    await this.journal(id, plan.scope.destination, current, rev, JSON.stringify(snapshot));
    try {
      await step.write();
      const done = await this.scopes.updateOne(
        { _id: id, rev },
        { $set: { rev: rev + 1, manifest: JSON.stringify(plan.manifest) }, $unset: { rollback: true } },
      );
      if (done.matchedCount !== 1) throw new Error(`${id} changed during the apply; retrying`);
    } catch (err) {
      // Undone only while the scope's document is still this apply's journal: not when the manifest
      // write landed and only its answer was lost, nor when another writer moved the scope on. The
      // server may be gone: then the snapshot stays, and the next read of the scope undoes the writes.
      const now = await this.scopes.findOne({ _id: id }).catch(() => null);
      if (now?.rev === rev) await this.undo(now).catch(() => undefined);
      throw err;
    }
  }

  /** The `key` layout: the documents of the set and stale keys, as they were, and one bulk write of them. */
  private async keyStep(plan: ApplyPlan): Promise<Step> {
    const { destination } = plan.scope;
    const touched = [...Object.keys(plan.set), ...plan.stale];
    const before = await this.valuesOf(destination, touched);
    const values = Object.fromEntries(
      touched.map((k): [string, [FlatValue] | null] => {
        const id = idOf(destination, k);
        return [id, before.has(id) ? [before.get(id) as FlatValue] : null];
      }),
    );
    const ops: AnyBulkWriteOperation<KeyDoc>[] = [
      ...Object.entries(plan.set).map(
        ([key, value]): AnyBulkWriteOperation<KeyDoc> => ({
          replaceOne: {
            filter: { _id: idOf(destination, key) },
            replacement: { destination, key, value },
            upsert: true,
          },
        }),
      ),
      ...plan.stale.map(
        (key): AnyBulkWriteOperation<KeyDoc> => ({ deleteOne: { filter: { _id: idOf(destination, key) } } }),
      ),
    ];
    return {
      before: { collection: this.collection ?? destination, values },
      write: () => bulk(this.keysOf(destination), ops),
    };
  }

  /**
   * The `file` layout: the scope's document as it was, and its replacement — the stored keys (the
   * unchanged, the protected, and any a reader or another tool added) without the stale ones, with the
   * set ones — written whole, in one request; removed when no key is left.
   */
  private async fileStep(plan: ApplyPlan): Promise<Step> {
    const { destination } = plan.scope;
    const id = scopeKey(plan.scope);
    const files = this.filesOf(destination);
    const was = await files.findOne({ _id: id });
    if (was === null && plan.unchanged.length > 0)
      throw new PipelineError(
        "SINK_REFUSED",
        `${id}: no document holds the ${plan.unchanged.length} unchanged key(s) its manifest lists (the layout was switched to file, or the document was deleted); varstream sync ${plan.scope.datasource} writes every key again`,
      );
    const keys = was ? flatten(was.data) : {};
    for (const key of plan.stale) delete keys[key];
    Object.assign(keys, plan.set);
    // A deleted file's plan has no origin: the document keeps the labels it had.
    const origin = plan.origin ?? labelsOf(was);
    const next: FileDoc = {
      _id: id,
      destination,
      data: nest(keys),
      _vt_managed_by: "varstream",
      _vt_datasource: plan.scope.datasource,
      ...(origin?.env === undefined ? {} : { _vt_env: origin.env }),
      ...(origin?.tenant === undefined ? {} : { _vt_tenant: origin.tenant }),
      _vt_repo: plan.scope.repo,
      ...(origin?.ref ? { _vt_branch: origin.ref.replace(/^refs\/(heads|tags)\//, "") } : {}),
      _vt_commit: plan.manifest.commit,
      _vt_file: plan.scope.file,
    };
    return {
      before: {
        collection: this.collection ?? destination,
        values: {},
        file: { id, was: was === null ? null : BSON.EJSON.stringify(was, { relaxed: false }) },
      },
      write: async () => {
        if (Object.keys(keys).length === 0) await files.deleteOne({ _id: id });
        else await files.replaceOne({ _id: id }, next, { upsert: true });
      },
    };
  }

  /** Stores the snapshot on the scope's document, only if nobody wrote the document since it was read. */
  private async journal(id: string, destination: string, current: ScopeDoc | null, rev: number, rollback: string) {
    if (current === null) {
      // A first apply of the scope: the insert fails if another writer created it meanwhile.
      await this.scopes.insertOne({ _id: id, destination, rev, rollback });
      return;
    }
    const res = await this.scopes.updateOne({ _id: id, rev: current.rev }, { $set: { rev, rollback } });
    if (res.matchedCount !== 1) throw new Error(`${id} changed during the apply; retrying`);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Runs `ops` in unordered bulk requests of {@link BULK_OPS}. */
async function bulk(collection: Collection<KeyDoc>, ops: AnyBulkWriteOperation<KeyDoc>[]): Promise<void> {
  for (let i = 0; i < ops.length; i += BULK_OPS)
    await collection.bulkWrite(ops.slice(i, i + BULK_OPS), { ordered: false });
}

/** What one layout's apply writes, and what it will have touched as it was before. */
interface Step {
  before: Omit<Snapshot, "manifest">;
  write: () => Promise<void>;
}

/** The origin a document's labels recorded. */
function labelsOf(doc: FileDoc | null): ApplyPlan["origin"] {
  if (doc?._vt_env === undefined) return undefined;
  return {
    env: doc._vt_env,
    ref: doc._vt_branch === undefined ? "" : `refs/heads/${doc._vt_branch}`,
    ...(doc._vt_tenant === undefined ? {} : { tenant: doc._vt_tenant }),
  };
}

/**
 * Flat keys as nested fields (`db.host` → `{db: {host}}`, an escaped `example\.com` one field
 * `example.com`), as a document's field names may not hold the separator. A key that is both a value and
 * the parent of another (`a` and `a.b`), or a segment such as `__proto__`, fails the apply.
 */
export function nest(keys: Record<string, FlatValue>): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null);
  for (const [key, value] of Object.entries(keys)) {
    const parts = splitKey(key);
    const forbidden = parts.find((p) => FORBIDDEN_SEGMENTS.has(p));
    if (forbidden !== undefined) throw new PipelineError("SINK_REFUSED", `key ${key}: ${forbidden} cannot be a field`);
    let at = root;
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1) {
        if (Object.hasOwn(at, part))
          throw new PipelineError("SINK_REFUSED", `key ${key} has a value and keys below it: not one document`);
        at[part] = value;
        break;
      }
      const below = at[part];
      if (below !== undefined && !isBranch(below))
        throw new PipelineError(
          "SINK_REFUSED",
          `keys ${parts.slice(0, i + 1).join(".")} and ${key} cannot both be fields of one document`,
        );
      if (below === undefined) at[part] = Object.create(null);
      at = at[part] as Record<string, unknown>;
    }
  }
  return root;
}

/**
 * The inverse of {@link nest}: a plain object with fields is a parent, anything else a value — an empty
 * object (`{}`), a list, and what another tool stored (an ObjectId, a Date, a Decimal128) stay as they are.
 */
export function flatten(data: Record<string, unknown>, prefix = "", out: Record<string, FlatValue> = {}) {
  for (const [field, value] of Object.entries(data)) {
    const segment = escapeSegment(field, ".");
    const key = prefix === "" ? segment : `${prefix}.${segment}`;
    if (isBranch(value) && Object.keys(value as object).length > 0) flatten(value as Record<string, unknown>, key, out);
    else out[key] = value as FlatValue;
  }
  return out;
}

/** A plain object: what {@link nest} makes and a reader's JSON gives, never a BSON value such as an ObjectId. */
function isBranch(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A key's document id: its destination and key (a destination never holds `|`). */
const idOf = (destination: string, key: string) => `${destination}|${key}`;

function splitId(id: string): [string, string] {
  const at = id.indexOf("|");
  return [id.slice(0, at), id.slice(at + 1)];
}

async function clientOptions(config: MongoSinkConfig, secrets: Secrets): Promise<MongoClientOptions> {
  const options: MongoClientOptions = {
    // A server that is away fails the apply within seconds; the sink writer retries with its backoff.
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 3000,
    socketTimeoutMS: 15_000,
    retryWrites: false,
    maxPoolSize: config.max_pool_size,
    tls: config.tls,
  };
  if (config.username !== undefined) {
    options.auth = {
      username: await secrets.resolve(config.username),
      ...(config.password === undefined ? {} : { password: await secrets.resolve(config.password) }),
    };
  }
  if (config.auth_source !== undefined) options.authSource = config.auth_source;
  if (config.tls_ca !== undefined) options.ca = await secrets.resolve(config.tls_ca);
  return options;
}
