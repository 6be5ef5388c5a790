import { backoffMs, canonicalText, delay, type Logger, metrics, type SinkReport, scopeKey } from "@varstream/shared";
import type { Claim, Manifest, Sink } from "../sinks/sink.ts";
import { type Desired, planApply } from "./plan.ts";

export interface ApplyOptions {
  maxRetries: number;
  retryBaseMs: number;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * Receives the report of another task, re-issued with a warning, when this apply claims a key that
   * task's scope already holds at the same destination: both tasks learn of the conflict (SPEC §5.2).
   */
  onConflict?: (report: SinkReport) => void;
}

/**
 * SPEC §5.2 for one scope: read the manifest, diff, write data + manifest in one transaction, retry
 * with backoff, and produce the status report. A redelivered key set of a task the sink already
 * applied changes nothing and reports what the first apply did.
 */
export async function applyDesired(sink: Sink, desired: Desired, options: ApplyOptions): Promise<SinkReport> {
  const started = performance.now();
  const base = {
    component: "sink" as const,
    sink: sink.name,
    task_id: desired.taskId,
    scope: scopeKeyOf(desired),
    commit: desired.commit,
    warnings: [] as string[],
  };
  let lastError: Error | undefined;
  for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
    try {
      const manifest = await sink.readManifest(desired.scope, scopeKeyOf(desired));
      const plan = planApply(desired, manifest);
      base.scope = plan.scopeKey;
      if (manifest !== null && manifest.task_id === desired.taskId && manifest.commit === desired.commit) {
        return {
          ...base,
          outcome: "applied",
          ...counts(manifest),
          warnings: manifest.report.warnings ?? [],
          rolled_back: false,
          duration_ms: performance.now() - started,
          at: new Date().toISOString(),
        };
      }
      // Repair mode writes every key; what it reports is the keys whose stored value had drifted.
      let repaired: string[] | undefined;
      if (desired.keySet?.sync_mode === "repair") {
        const current = await sink.readValues(plan.destination, Object.keys(plan.set));
        repaired = Object.entries(plan.set)
          .filter(([key, value]) => current[key] !== canonicalText(value))
          .map(([key]) => key);
      }
      // Keys another scope of this destination also claims: written keys are reported (the later
      // commit wins); stale ones stay, since the other file still wants them.
      // Only keys this scope claims anew, or drops, can start or end a shared claim: steady-state
      // applies (values changing) skip the lookup.
      const fresh = Object.keys(plan.set).filter((key) => manifest?.keys[key] === undefined);
      const questioned = [...fresh, ...plan.stale];
      const claimed = questioned.length === 0 ? {} : await sink.claims(desired.scope, plan.scopeKey, questioned);
      const contested = Object.keys(claimed).filter((key) => !plan.stale.includes(key));
      base.warnings = contested.map(
        (key) => `conflict: ${key} at ${plan.destination} is also claimed by ${claimed[key]!.scope}; this commit wins`,
      );
      if (plan.stale.some((key) => key in claimed)) {
        plan.stale = plan.stale.filter((key) => !(key in claimed));
        plan.manifest.report.pruned = plan.stale.length;
      }
      // Kept in the manifest, so a redelivery and a later conflict notice repeat them.
      if (base.warnings.length > 0) plan.manifest.report.warnings = base.warnings;
      plan.manifest.report.duration_ms = performance.now() - started;
      await sink.apply(plan);
      if (contested.length > 0) {
        for (const report of conflictNotices(sink.name, plan.scopeKey, plan.destination, contested, claimed)) {
          options.onConflict?.(report);
        }
      }
      metrics.keys.inc({ sink: sink.name, action: "set" }, plan.manifest.report.set);
      metrics.keys.inc({ sink: sink.name, action: "unchanged" }, plan.manifest.report.unchanged);
      metrics.keys.inc({ sink: sink.name, action: "pruned" }, plan.manifest.report.pruned);
      metrics.applyDuration.observe({ sink: sink.name, outcome: "applied" }, (performance.now() - started) / 1000);
      return {
        ...base,
        outcome: "applied",
        ...counts(plan.manifest),
        ...(repaired === undefined ? {} : { repaired }),
        rolled_back: false,
        duration_ms: performance.now() - started,
        at: new Date().toISOString(),
      };
    } catch (err) {
      lastError = err as Error;
      options.logger.warn({ err, scope: base.scope, attempt }, "apply failed");
      // Undo what a half-done apply left; if the store is unreachable, its next read of the scope will.
      await sink.restore(desired.scope, scopeKeyOf(desired)).catch((restoreErr: Error) => {
        options.logger.warn({ err: restoreErr, scope: base.scope }, "restore deferred: the store did not answer");
      });
      if (attempt < options.maxRetries) {
        metrics.retries.inc({ sink: sink.name });
        await delay(backoffMs(attempt, options.retryBaseMs, 5_000), options.signal);
      }
    }
  }
  metrics.rollbacks.inc({ sink: sink.name });
  metrics.applyDuration.observe({ sink: sink.name, outcome: "failed" }, (performance.now() - started) / 1000);
  return {
    ...base,
    scope: base.scope,
    outcome: "failed",
    set: 0,
    unchanged: 0,
    pruned: 0,
    rolled_back: true,
    duration_ms: performance.now() - started,
    error: lastError?.message ?? "apply failed",
    at: new Date().toISOString(),
  };
}

function counts(manifest: Manifest): { set: number; unchanged: number; pruned: number } {
  const { set, unchanged, pruned } = manifest.report;
  return { set, unchanged, pruned };
}

/** The reports of the other tasks whose keys this apply took over: their own report plus a warning. */
function conflictNotices(
  sink: string,
  winner: string,
  destination: string,
  contested: string[],
  claimed: Record<string, Claim>,
): SinkReport[] {
  const byScope = new Map<string, { manifest: Manifest; keys: string[] }>();
  for (const key of contested) {
    const { scope, manifest } = claimed[key]!;
    const entry = byScope.get(scope) ?? { manifest, keys: [] };
    entry.keys.push(key);
    byScope.set(scope, entry);
  }
  return [...byScope]
    .filter(([, { manifest }]) => manifest.task_id !== "")
    .map(([scope, { manifest, keys }]) => ({
      component: "sink",
      sink,
      task_id: manifest.task_id,
      scope,
      outcome: "applied",
      ...counts(manifest),
      rolled_back: false,
      duration_ms: manifest.report.duration_ms ?? 0,
      commit: manifest.commit,
      warnings: [
        ...(manifest.report.warnings ?? []),
        ...keys.map(
          (key) => `conflict: ${key} at ${destination} is also claimed by ${winner}, whose later commit wins`,
        ),
      ],
      at: new Date().toISOString(),
    }));
}

function scopeKeyOf(desired: Desired): string {
  return scopeKey(desired.scope);
}
