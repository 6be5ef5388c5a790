import type { FlatValue, Scope } from "@varstream/shared";

/** What a sink last wrote for one scope, stored in the sink next to the data (SPEC §5.2). */
export interface Manifest {
  commit: string;
  task_id: string;
  /** key → hash of the value written */
  keys: Record<string, string>;
  /** the apply that wrote this manifest; a redelivery of the same task reports it again */
  report: { set: number; unchanged: number; pruned: number };
  /** the scope's file was deleted */
  deleted?: boolean;
}

/** The writes of one apply: set these, delete those, and store the new manifest — atomically. */
export interface ApplyPlan {
  scope: Scope;
  scopeKey: string;
  destination: string;
  set: Record<string, FlatValue>;
  unchanged: string[];
  stale: string[];
  manifest: Manifest;
}

/**
 * The contract every sink implements. `apply` writes data and manifest in one transaction where the
 * store has them, otherwise restores a snapshot of every touched key when a step fails.
 */
export interface Sink {
  readonly name: string;
  readonly kind: string;
  readManifest(scope: Scope, scopeKey: string): Promise<Manifest | null>;
  apply(plan: ApplyPlan): Promise<void>;
  /**
   * Keys of `keys` that another scope's manifest claims at the same destination, with that scope:
   * two files feeding one key (SPEC §5.2); the later apply wins and both are reported.
   */
  claims(scope: Scope, scopeKey: string, keys: string[]): Promise<Record<string, string>>;
  /** the stored values of `keys` at a destination, as canonical text (undefined: absent) */
  readValues(destination: string, keys: string[]): Promise<Record<string, string | undefined>>;
  /** where the data of a destination lives, for docs and logs */
  describe(destination: string): string;
  close(): Promise<void>;
}
