import { z } from "zod";
import { PipelineError } from "../errors/pipeline.ts";
import { FlatType, FlatValue } from "./values.ts";

/** The datasource name webhooks of the schema registry repository are posted to. */
export const SCHEMA_REGISTRY_DATASOURCE = "schema-registry";

/** The unit a key set replaces: one (datasource, destination, repository file). */
export const Scope = z.object({
  datasource: z.string().min(1),
  destination: z.string().min(1),
  repo: z.string().min(1),
  file: z.string().min(1),
});
export type Scope = z.infer<typeof Scope>;

export const SyncMode = z.enum(["upsert", "mirror", "repair"]);
export type SyncMode = z.infer<typeof SyncMode>;

/** The complete desired key set of one scope, the value of a `keysets` record. */
export const KeySet = z.object({
  task_id: z.string().min(1),
  scope: Scope,
  repo: z.string(),
  /** where the file was read from, so a resync can read it again */
  clone_url: z.string().optional(),
  platform: z.string().optional(),
  /** the rule's tenant, for resync filters */
  tenant: z.string().optional(),
  ref: z.string(),
  commit: z.string(),
  /**
   * Orders the key sets of one scope, whatever topic offset they land at: when the state it holds was
   * observed, in ms since the epoch — a push's webhook reception (kept above the scope's previous
   * version), a refetch's request; a resync re-emits the version of what it read. A sink refuses a key
   * set older than the one it holds. Absent on records written before versions (then the topic order rules).
   */
  version: z.number().int().nonnegative().optional(),
  env: z.string(),
  keys: z.record(z.string(), FlatValue),
  types: z.record(z.string(), FlatType).optional(),
  labels: z.record(z.string(), z.string()),
  prune: z.object({ enabled: z.boolean(), protection: z.array(z.string()) }),
  sync_mode: SyncMode,
  produced_at: z.string(),
  /** when ingest received the webhook: the start of the end-to-end latency */
  received_at: z.string().optional(),
  /** keys whose values are masked in logs, task documents and dry-run reports (`@sensitive()`) */
  sensitive: z.array(z.string()).optional(),
  /** keys whose values are secret references, resolved by the sink writer at write time (`@secret()`) */
  secrets: z.array(z.string()).optional(),
});
export type KeySet = z.infer<typeof KeySet>;

/** The header of a `keysets` tombstone (which has no value) carrying its {@link KeySet} `version`. */
export const VERSION_HEADER = "version";

/** `<datasource>|<destination>|<repo full name>:<source file>`: the compacted topic's key. */
export function scopeKey(scope: Scope): string {
  return `${scope.datasource}|${scope.destination}|${scope.repo}:${scope.file}`;
}

/**
 * The part of a scope key naming its sink and destination, `<datasource>|<destination>|`: the scopes
 * of one destination share it (conflict lookups, and the keysets partition — one writer per destination).
 */
export function destinationPrefix(scopeKey: string): string {
  const second = scopeKey.indexOf("|", scopeKey.indexOf("|") + 1);
  return scopeKey.slice(0, second + 1);
}

/** Inverse of {@link scopeKey}; used for tombstones, which carry no value. */
export function parseScopeKey(key: string): Scope {
  const first = key.indexOf("|");
  const second = key.indexOf("|", first + 1);
  const colon = key.indexOf(":", second + 1);
  if (first <= 0 || second <= first + 1 || colon <= second + 1 || colon === key.length - 1) {
    throw new PipelineError("DECODE_ERROR", `not a scope key: ${JSON.stringify(key)}`);
  }
  return Scope.parse({
    datasource: key.slice(0, first),
    destination: key.slice(first + 1, second),
    repo: key.slice(second + 1, colon),
    file: key.slice(colon + 1),
  });
}
