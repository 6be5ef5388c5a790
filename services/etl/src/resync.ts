import type { Bundle } from "@varstream/bundle";
import { type EtlOutput, isProduced } from "@varstream/pipeline";
import {
  etlReport,
  type FileReport,
  type KeySet,
  type Logger,
  type RecordCodec,
  type ResyncEvent,
  readDesiredState,
  SCHEDULED_RESYNC,
  type Scope,
  scopeKey,
  WebhookEvent,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";

export interface DesiredStateSource {
  /** the bundle: scopes no rule produces any more (orphans) are never re-emitted */
  bundle?: Bundle;
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  logger: Logger;
  /** how `keysets` values are read */
  codec?: RecordCodec;
  /** for `refetch`: ETL of one event, and the branch tip of a repository */
  process?: (event: WebhookEvent) => Promise<EtlOutput>;
  branchTip?: (cloneUrl: string, branch: string) => Promise<string>;
  /**
   * the highest version this ETL has seen of a scope: a stored key set below it is not re-emitted (a
   * push overtook the read), and what a refetch reads anew is versioned above it
   */
  currentVersion?: (scopeKey: string) => number;
}

/**
 * `refetch`: every stored scope's file read again from Git at its branch's tip, one event per
 * repository and branch. Each file is passed as removed, which makes the pipeline ask git: one still
 * there is read and synced, one gone from the tip gets a tombstone. A scope whose stored commit is newer
 * than the tip (a push landed after the tip was read) is superseded, as for any late event. Scopes
 * whose ref is no branch, or whose key set predates `clone_url`, keep their stored key set.
 */
async function refetch(
  event: ResyncEvent,
  stored: KeySet[],
  source: DesiredStateSource,
): Promise<{ keysets: KeySet[]; tombstones: Scope[]; files: FileReport[]; warnings: string[] }> {
  const groups = new Map<string, KeySet[]>();
  for (const k of stored) {
    if (!k.clone_url || !k.platform || !k.ref.startsWith("refs/heads/")) continue;
    const id = `${k.platform} ${k.clone_url} ${k.ref}`;
    groups.set(id, [...(groups.get(id) ?? []), k]);
  }
  const out = {
    keysets: [] as KeySet[],
    tombstones: [] as Scope[],
    files: [] as FileReport[],
    warnings: [] as string[],
  };
  if (!source.process || !source.branchTip) return out;
  for (const group of groups.values()) {
    const first = group[0]!;
    const branch = first.ref.slice("refs/heads/".length);
    const tip = await source.branchTip(first.clone_url!, branch);
    const output = await source.process(
      WebhookEvent.parse({
        task_id: event.task_id,
        delivery_id: "",
        source: "resync",
        platform: first.platform,
        datasource: event.datasource,
        event: "push",
        repo: { full_name: first.repo, clone_url: first.clone_url },
        ref: first.ref,
        branch,
        before: "",
        after: tip,
        changes: [...new Set(group.map((k) => k.scope.file))].map((path) => ({ path, status: "removed" })),
        received_at: event.received_at,
        dry_run: false,
      }),
    );
    out.files.push(...output.report.files);
    if (output.report.outcome === "failed") {
      out.warnings.push(`refetch of ${first.repo}@${branch} failed, stored key sets kept: ${output.report.message}`);
      continue;
    }
    out.keysets.push(...output.keysets.filter((k) => k.scope.datasource === event.datasource));
    out.tombstones.push(...output.tombstones.filter((s) => s.datasource === event.datasource));
  }
  return out;
}

/** The same keys and values (key order aside). */
function sameKeys(a: KeySet["keys"] | undefined, b: KeySet["keys"]): boolean {
  if (a === undefined) return false;
  const entries = (keys: KeySet["keys"]) =>
    JSON.stringify(Object.entries(keys).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return entries(a) === entries(b);
}

/**
 * Resync: the desired key sets of the datasource, read from the compacted `keysets` topic
 * (its latest record per scope, tombstoned scopes left out), re-emitted in `repair` mode under the
 * resync's task; with `refetch`, read again from Git at the branch tips first. Filters: `env`,
 * `platform` (kind) and `tenant` (key sets produced before they recorded these match no such filter).
 */
export async function resync(event: ResyncEvent, source: DesiredStateSource): Promise<EtlOutput> {
  const desired = await readDesiredState(source.kafka, {
    topic: source.topic,
    groupPrefix: source.groupPrefix,
    purpose: "etl.resync",
    logger: source.logger,
    datasource: event.datasource,
    ...(source.codec ? { codec: source.codec } : {}),
  });
  const now = new Date().toISOString();
  const { env, platform, tenant } = event.filters;
  // An orphan (no rule produces its scope since a bundle change) is never resurrected: it is left to
  // `varstream prune-orphans`, and the task says so.
  const { bundle } = source;
  const orphans = bundle ? desired.filter((k) => !isProduced(bundle, k)) : [];
  const stored = desired
    .filter((k) => !orphans.includes(k))
    .filter((k) => env === undefined || k.env === env)
    .filter((k) => platform === undefined || k.platform === platform)
    .filter((k) => tenant === undefined || k.tenant === tenant);
  const current = (k: KeySet) => source.currentVersion?.(scopeKey(k.scope)) ?? 0;
  // Each scope's version before Git is read: a push emitted while the read ran may hold a newer state
  // than the read saw, so a refetched scope whose version moved meanwhile is left to that push.
  const before = new Map(desired.map((k) => [scopeKey(k.scope), current(k)]));
  const fresh = event.refetch
    ? await refetch(event, stored, source)
    : { keysets: [], tombstones: [], files: [], warnings: [] };
  const raced = fresh.keysets.filter((k) => current(k) > (before.get(scopeKey(k.scope)) ?? 0));
  fresh.keysets = fresh.keysets.filter((k) => !raced.includes(k));
  const refetched = new Set(fresh.keysets.map((k) => scopeKey(k.scope)));
  // A scheduled refetch (refetch_interval) catches up missed webhooks: it emits only the scopes whose
  // keys changed at the tip (and tombstones for files gone from it), not every stored one again.
  const catchUp = event.refetch && event.source === "resync" && event.reason === SCHEDULED_RESYNC.refetch;
  const storedKeys = new Map(stored.map((k) => [scopeKey(k.scope), k.keys]));
  const moved = fresh.keysets.filter((k) => !catchUp || !sameKeys(storedKeys.get(scopeKey(k.scope)), k.keys));
  // Versions: what is re-emitted keeps the version it was read with, and is left out when a push
  // overtook it (the sinks would refuse it, and the topic must not hold it as the desired state); what
  // was read again from Git is newer than anything stored (a newer stored commit was superseded above).
  const requested = Math.max(0, Date.parse(event.received_at) || Date.now());
  const reemitted = catchUp ? [] : stored.filter((k) => !refetched.has(scopeKey(k.scope)));
  const overtaken = reemitted.filter((k) => (k.version ?? 0) < current(k));
  const keysets = [
    ...moved.map((k) => ({ ...k, version: Math.max(requested, (before.get(scopeKey(k.scope)) ?? 0) + 1) })),
    ...reemitted.filter((k) => !overtaken.includes(k)).map((k) => ({ ...k, version: k.version ?? 0 })),
  ].map((k) => ({
    ...k,
    task_id: event.task_id,
    sync_mode: "repair" as const,
    produced_at: now,
    received_at: event.received_at,
  }));
  const { tombstones } = fresh;
  const scopes = [...keysets.map((k) => k.scope), ...tombstones].map(scopeKey);
  return {
    keysets,
    tombstones,
    report: (() => {
      const report = etlReport(event.task_id, "", now);
      report.warnings.push(...fresh.warnings);
      if (raced.length > 0) {
        report.warnings.push(`${raced.length} refetched scope(s) left out: a push landed while Git was read`);
      }
      if (overtaken.length > 0) {
        report.warnings.push(`${overtaken.length} scope(s) not re-emitted: a push overtook what was read`);
      }
      if (orphans.length > 0) {
        report.warnings.push(
          `${orphans.length} orphaned scope(s) left out (no rule produces them any more): varstream prune-orphans --datasource ${event.datasource}`,
        );
      }
      return scopes.length === 0
        ? report.noMatch(catchUp ? "refetch: every scope is at its branch tip" : "resync: no scope to repair", {
            files: fresh.files,
          })
        : report.emitted(
            `resync: ${keysets.length} scope(s) in repair mode${tombstones.length > 0 ? `, ${tombstones.length} gone from the tip` : ""}`,
            { files: fresh.files, scopes },
          );
    })(),
  };
}
