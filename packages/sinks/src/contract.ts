import { type FlatValue, PipelineError, type Scope, type Secrets } from "@varstream/shared";

/** What a sink last wrote for one scope, stored in the sink next to the data. */
export interface Manifest {
  commit: string;
  task_id: string;
  /** key → hash of the value written */
  keys: Record<string, string>;
  /** the apply that wrote this manifest; a redelivery of the same task reports it again */
  report: { set: number; unchanged: number; pruned: number; warnings?: string[]; duration_ms?: number };
  /** the scope's file was deleted */
  deleted?: boolean;
  /**
   * keys whose values are `@sensitive()` or `@secret()`: remembered with the store, so a dry-run or a
   * report of any other scope of the destination masks them too
   */
  sensitive?: string[];
  /**
   * The `keysets` record this apply came from. A sink refuses, inside its atomic write, a plan whose
   * record is not newer than the stored one's on the same partition: a sink writer that lost its
   * partition (paused past its session) cannot write over what the partition's new owner wrote.
   */
  position?: RecordPosition;
  /**
   * The key set's version (KeySet.version): a plan of a lower version than the stored one is refused,
   * whatever its position — a resync or retry built before a push must not roll the push back.
   */
  version?: number;
}

/** Where a key set sits in the `keysets` topic. */
export interface RecordPosition {
  partition: number;
  offset: number;
}

/** Another scope of the same destination that also claims a key: its scope key and manifest. */
export interface Claim {
  scope: string;
  manifest: Manifest;
}

/** The writes of one apply: set these, delete those, and store the new manifest — atomically. */
export interface ApplyPlan {
  scope: Scope;
  set: Record<string, FlatValue>;
  unchanged: string[];
  /** keys to delete: in the old manifest, not desired, not protected, and claimed by no other scope */
  stale: string[];
  /** keys of the old manifest that the new one no longer holds (pruned, or left alone when protected) */
  released: string[];
  /** written keys another scope of the destination also claims (this commit wins; both are told) */
  contested: string[];
  /** what the task is told besides the counts; kept in the manifest */
  warnings: string[];
  manifest: Manifest;
  /** where the key set came from, for sinks that label what they write (absent for a deleted file) */
  origin?: { env: string; ref: string; tenant?: string };
}

/**
 * The contract every sink implements; the diff itself is `planApply`, common to all. A scope is
 * always passed as a {@link Scope}; its key (`scopeKey(scope)`) is what a sink stores manifests under.
 * `apply` writes data and manifest in one transaction where the store has them; where it has none, it
 * first records a snapshot of everything it will touch, so that `restore` can undo an apply that was cut
 * off half-way — by a failure, a server that went away, or a writer killed in the middle.
 */
export interface Sink {
  /** the datasource's name in the bundle */
  readonly name: string;
  /** The manifest of the scope's last completed apply: an apply left half-done is restored first. */
  readManifest(scope: Scope): Promise<Manifest | null>;
  apply(plan: ApplyPlan): Promise<void>;
  /**
   * Puts back the values and the manifest an interrupted apply of the scope had snapshotted; false when
   * there was nothing to undo (always, for a sink whose apply is one transaction).
   */
  restore(scope: Scope): Promise<boolean>;
  /**
   * Keys of `keys` that another scope's manifest claims at the same destination, with that scope:
   * two files feeding one key; the later apply wins and both are reported.
   */
  claims(scope: Scope, keys: string[]): Promise<Record<string, Claim>>;
  /**
   * the stored values of `keys` at a destination, as canonical text (undefined: absent); `scope` narrows
   * it to that scope's copy where a sink stores each file apart (mongo's `file` layout)
   */
  readValues(destination: string, keys: string[], scope?: Scope): Promise<Record<string, string | undefined>>;
  close(): Promise<void>;
}

/** What a sink's `connect` is given besides its configuration. */
export interface SinkDeps {
  /** resolves the configuration's credential fields */
  secrets: Secrets;
  /** APP_ENV: `production` refuses what is only safe on a laptop (an ssh host key not pinned) */
  appEnv?: string;
}

/** A write refused because the store already holds the scope from this or a later `keysets` record. */
export class StaleWriteError extends PipelineError {
  override name = "StaleWriteError";
  constructor(scope: string, stored: RecordPosition | { version: number }, mine: RecordPosition | { version: number }) {
    super(
      "STALE_WRITE",
      "version" in stored && "version" in mine
        ? `${scope} already holds version ${stored.version}; refusing the older version ${mine.version}`
        : `${scope} already holds keysets record ${describe(stored)}; refusing the write of ${describe(mine)}`,
    );
  }
}

const describe = (p: RecordPosition | { version: number }) =>
  "version" in p ? `version ${p.version}` : `${p.partition}@${p.offset}`;

/**
 * Throws {@link StaleWriteError} when `stored` (the manifest in the store, read inside the write's
 * atomic unit) holds a later state than the plan: a higher version, or — versions equal or absent — the
 * same or a later record of the same partition. A plan or a stored manifest without a position (a
 * rebuild, a store written before positions) passes the position check; another partition (the topic's
 * partition count changed) too. A higher version than the stored one always applies: its state is newer,
 * even when a resync re-emitted the older one at a later offset.
 */
export function refuseOlder(scope: string, stored: Manifest | null, plan: ApplyPlan): void {
  const mineVersion = plan.manifest.version;
  const theirVersion = stored?.version;
  if (mineVersion !== undefined && theirVersion !== undefined && mineVersion !== theirVersion) {
    if (theirVersion > mineVersion)
      throw new StaleWriteError(scope, { version: theirVersion }, { version: mineVersion });
    return;
  }
  const mine = plan.manifest.position;
  const theirs = stored?.position;
  if (!mine || !theirs || mine.partition !== theirs.partition) return;
  if (theirs.offset >= mine.offset) throw new StaleWriteError(scope, theirs, mine);
}
