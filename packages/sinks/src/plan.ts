import { createHash } from "node:crypto";
import type { FlatValue, KeySet, Scope, SyncMode } from "@varstream/shared";
import picomatch from "picomatch";
import type { ApplyPlan, Claim, Manifest, RecordPosition, Sink } from "./contract.ts";

/** A value's fingerprint in a manifest: type and value, so `1` and `"1"` differ. */
export function valueHash(value: FlatValue): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("base64url").slice(0, 16);
}

export interface Desired {
  scope: Scope;
  taskId: string;
  commit: string;
  /** null: the file was deleted (a tombstone) */
  keySet: KeySet | null;
  /** the `keysets` record it was read from; absent for writes outside the topic's order (a rebuild) */
  position?: RecordPosition;
  /** the key set's version (KeySet.version, or a tombstone's `version` header) */
  version?: number;
}

interface Diff {
  set: Record<string, FlatValue>;
  unchanged: string[];
  /** in the old manifest, not desired, not protected */
  stale: string[];
  /** the new manifest's keys */
  keys: Record<string, string>;
}

function diff(desired: Desired, manifest: Manifest | null): Diff {
  const { keySet } = desired;
  const old = manifest?.keys ?? {};
  const mode: SyncMode = keySet?.sync_mode ?? "mirror";
  const protection = (keySet?.prune.protection ?? []).map((p) => picomatch(p, { dot: true }));
  const isProtected = (key: string) => protection.some((m) => m(key));
  const pruneEnabled = keySet === null || (keySet.prune.enabled && mode !== "upsert");

  const set: Record<string, FlatValue> = {};
  const unchanged: string[] = [];
  const keys: Record<string, string> = {};
  for (const [key, value] of Object.entries(keySet?.keys ?? {})) {
    const hash = valueHash(value);
    keys[key] = hash;
    if (mode !== "repair" && old[key] === hash) unchanged.push(key);
    else set[key] = value;
  }
  const stale: string[] = [];
  for (const key of Object.keys(old)) {
    if (Object.hasOwn(keys, key)) continue;
    if (pruneEnabled && !isProtected(key)) stale.push(key);
    else if (!pruneEnabled) keys[key] = old[key]!; // upsert: still varstream's key, kept in the manifest
  }
  return { set, unchanged, stale, keys };
}

/**
 * The keys whose claims by other scopes of the destination matter to this apply: keys the scope claims
 * anew (they may be shared) and keys it drops (another file may still want them). Steady-state applies,
 * where only values change, question nothing and skip the lookup.
 */
function questioned(d: Diff, manifest: Manifest | null, repair: boolean): string[] {
  // A repair rewrites keys its manifest holds, which another scope may have taken over since (a key
  // that moved to another file): it asks about every one.
  const set = Object.keys(d.set);
  return [...(repair ? set : set.filter((key) => manifest?.keys[key] === undefined)), ...d.stale];
}

export interface PlanOptions {
  /** what other scopes of the destination claim of the keys in question (see planAgainst) */
  claims?: Record<string, Claim>;
  /** time spent on this apply so far, recorded in the manifest's report */
  elapsedMs?: number;
}

/**
 * The final plan of one apply: `set` (new or changed; every key in `repair` mode), `unchanged`, and
 * `stale` (in the manifest, not desired, not protected, not claimed by another scope). A written key
 * that another scope claims is contested: this commit wins and both tasks are warned. Only manifest keys
 * are ever deleted. Sinks write the plan as it is.
 */
export function planApply(desired: Desired, manifest: Manifest | null, options: PlanOptions = {}): ApplyPlan {
  return finish(desired, manifest, diff(desired, manifest), options);
}

/**
 * The final plan against a sink: the other scopes' claims of the keys in question are asked of the
 * sink (only when there are any), the diff made once. The sink writer and the dry-run both plan so.
 */
export async function planAgainst(
  sink: Pick<Sink, "claims">,
  desired: Desired,
  manifest: Manifest | null,
  elapsedMs?: () => number,
): Promise<{ plan: ApplyPlan; claims: Record<string, Claim> }> {
  const d = diff(desired, manifest);
  const keys = questioned(d, manifest, desired.keySet?.sync_mode === "repair");
  const claims = keys.length === 0 ? {} : await sink.claims(desired.scope, keys);
  const plan = finish(desired, manifest, d, { claims, ...(elapsedMs ? { elapsedMs: elapsedMs() } : {}) });
  return { plan, claims };
}

/** The manifest's `sensitive`: the written keys its key set marks `@sensitive()` or `@secret()`. */
function sensitiveOf(desired: Desired, keys: Record<string, string>): { sensitive?: string[] } {
  const marked = [...(desired.keySet?.sensitive ?? []), ...(desired.keySet?.secrets ?? [])];
  const sensitive = [...new Set(marked)].filter((k) => Object.hasOwn(keys, k)).sort();
  return sensitive.length > 0 ? { sensitive } : {};
}

function finish(desired: Desired, manifest: Manifest | null, d: Diff, options: PlanOptions): ApplyPlan {
  const claims = options.claims ?? {};
  const { set, unchanged, stale, keys } = d;
  const old = manifest?.keys ?? {};
  // A key another scope claims with a newer version stays as that scope wrote it: a repair of an
  // older state (or a late record) never takes a key back from the file it moved to. Otherwise, and
  // when either has no version, this apply wins (the topic's order).
  const newer = (key: string) => {
    const theirs = claims[key]?.manifest.version;
    return desired.version !== undefined && theirs !== undefined && theirs > desired.version;
  };
  const yielded = Object.keys(claims).filter((key) => Object.hasOwn(keys, key) && newer(key));
  for (const key of yielded) delete set[key];
  const contested = Object.keys(claims).filter((key) => Object.hasOwn(keys, key) && !newer(key));
  const kept = stale.filter((key) => !Object.hasOwn(claims, key));
  const destination = desired.scope.destination;
  const warnings = [
    ...contested.map(
      (key) => `conflict: ${key} at ${destination} is also claimed by ${claims[key]!.scope}; this commit wins`,
    ),
    ...yielded.map(
      (key) =>
        `conflict: ${key} at ${destination} is also claimed by ${claims[key]!.scope}, whose newer version keeps it`,
    ),
  ];
  const keySet = desired.keySet;
  return {
    scope: desired.scope,
    ...(keySet === null
      ? {}
      : { origin: { env: keySet.env, ref: keySet.ref, ...(keySet.tenant ? { tenant: keySet.tenant } : {}) } }),
    set,
    unchanged,
    stale: kept,
    released: Object.keys(old).filter((key) => !Object.hasOwn(keys, key)),
    contested,
    warnings,
    manifest: {
      commit: desired.commit,
      task_id: desired.taskId,
      keys,
      report: {
        set: Object.keys(set).length,
        unchanged: unchanged.length,
        pruned: kept.length,
        // Kept in the manifest, so a redelivery and a later conflict notice repeat them.
        ...(warnings.length > 0 ? { warnings } : {}),
        ...(options.elapsedMs === undefined ? {} : { duration_ms: options.elapsedMs }),
      },
      ...(desired.keySet === null ? { deleted: true } : {}),
      ...sensitiveOf(desired, keys),
      ...(desired.position ? { position: desired.position } : {}),
      ...(desired.version === undefined ? {} : { version: desired.version }),
    },
  };
}
