import type { FlatValue, Scope } from "@varstream/shared";

/** What a sink last wrote for one scope, stored in the sink next to the data (SPEC §5.2). */
export interface Manifest {
  commit: string;
  task_id: string;
  /** key → hash of the value written */
  keys: Record<string, string>;
  /** the apply that wrote this manifest; a redelivery of the same task reports it again */
  report: { set: number; unchanged: number; pruned: number; warnings?: string[]; duration_ms?: number };
  /** the scope's file was deleted */
  deleted?: boolean;
}

/** Another scope of the same destination that also claims a key: its scope key and manifest. */
export interface Claim {
  scope: string;
  manifest: Manifest;
}

/** The writes of one apply: set these, delete those, and store the new manifest — atomically. */
export interface ApplyPlan {
  scope: Scope;
  scopeKey: string;
  destination: string;
  set: Record<string, FlatValue>;
  unchanged: string[];
  stale: string[];
  /** keys of the old manifest that the new one no longer holds (pruned, or left alone when protected) */
  released: string[];
  manifest: Manifest;
}

/**
 * The contract every sink implements (SPEC §5.2; the diff itself is `planApply`, common to all).
 * `apply` writes data and manifest in one transaction where the store has them; where it has none, it
 * first records a snapshot of everything it will touch, so that `restore` can undo an apply that was cut
 * off half-way — by a failure, a server that went away, or a writer killed in the middle.
 */
export interface Sink {
  readonly name: string;
  readonly kind: string;
  /** The manifest of the scope's last completed apply: an apply left half-done is restored first. */
  readManifest(scope: Scope, scopeKey: string): Promise<Manifest | null>;
  apply(plan: ApplyPlan): Promise<void>;
  /**
   * Puts back the values and the manifest an interrupted apply of the scope had snapshotted; false when
   * there was nothing to undo (always, for a sink whose apply is one transaction).
   */
  restore(scope: Scope, scopeKey: string): Promise<boolean>;
  /**
   * Keys of `keys` that another scope's manifest claims at the same destination, with that scope:
   * two files feeding one key (SPEC §5.2); the later apply wins and both are reported.
   */
  claims(scope: Scope, scopeKey: string, keys: string[]): Promise<Record<string, Claim>>;
  /** the stored values of `keys` at a destination, as canonical text (undefined: absent) */
  readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>>;
  /** where the data of a destination lives, for docs and logs */
  describe(destination: string): string;
  close(): Promise<void>;
}
