import { createHash } from "node:crypto";
import { type FlatValue, type KeySet, type Scope, type SyncMode, scopeKey } from "@varstream/shared";
import picomatch from "picomatch";
import type { ApplyPlan, Manifest } from "../sinks/sink.ts";

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
}

/**
 * The diff of SPEC §5.2 step 2: `set` (new or changed; every key in `repair` mode), `unchanged`, and
 * `stale` (in the manifest, not desired, not protected). Only manifest keys are ever deleted.
 */
export function planApply(desired: Desired, manifest: Manifest | null): ApplyPlan {
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
    if (key in keys) continue;
    if (pruneEnabled && !isProtected(key)) stale.push(key);
    else if (!pruneEnabled) keys[key] = old[key]!; // upsert: still varstream's key, kept in the manifest
  }
  return {
    scope: desired.scope,
    scopeKey: scopeKey(desired.scope),
    destination: desired.scope.destination,
    set,
    unchanged,
    stale,
    released: Object.keys(old).filter((key) => !(key in keys)),
    manifest: {
      commit: desired.commit,
      task_id: desired.taskId,
      keys,
      report: { set: Object.keys(set).length, unchanged: unchanged.length, pruned: stale.length },
      ...(keySet === null ? { deleted: true } : {}),
    },
  };
}
