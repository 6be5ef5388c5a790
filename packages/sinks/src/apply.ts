import {
  backoffMs,
  canonicalText,
  delay,
  type Logger,
  metrics,
  type SinkReport,
  scopeKey,
  sinkReport,
} from "@varstream/shared";
import { type ApplyPlan, type Claim, type Manifest, refuseOlder, type Sink, StaleWriteError } from "./contract.ts";
import { type Desired, planAgainst } from "./plan.ts";

export interface ApplyOptions {
  maxRetries: number;
  retryBaseMs: number;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * Receives the report of another task, re-issued with a warning, when this apply claims a key that
   * task's scope already holds at the same destination: both tasks learn of the conflict.
   */
  onConflict?: (report: SinkReport) => void;
  /**
   * The store already holds the scope from a later `keysets` record: this record was superseded, or
   * this writer lost its partition to another that went on. Nothing was written; the caller decides.
   */
  onStale?: (err: StaleWriteError) => void;
  /** called between planning and writing (fault injection in tests) */
  beforeWrite?: () => void;
}

/**
 * One scope's apply: read the manifest, ask who else claims the keys in question, plan, write data +
 * manifest in one transaction, retry with backoff, and produce the status report. A redelivered key
 * set of a task the sink already applied changes nothing and reports what the first apply did.
 */
export async function applyDesired(sink: Sink, desired: Desired, options: ApplyOptions): Promise<SinkReport> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const report = sinkReport({ sink: sink.name, taskId: desired.taskId, scope: desired.scope, commit: desired.commit });
  let lastError: Error | undefined;
  for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
    try {
      const manifest = await sink.readManifest(desired.scope);
      if (manifest !== null && manifest.task_id === desired.taskId && manifest.commit === desired.commit) {
        return report.applied(counts(manifest), { warnings: manifest.report.warnings ?? [], durationMs: elapsed() });
      }
      const { plan, claims } = await planAgainst(sink, desired, manifest, elapsed);
      // Before anything is read or written for the plan: never over a later record's apply.
      refuseOlder(scopeKey(desired.scope), manifest, plan);
      // Repair mode writes every key; what it reports is the keys whose stored value had drifted.
      const repaired = desired.keySet?.sync_mode === "repair" ? await drifted(sink, plan) : undefined;
      if (repaired !== undefined && repaired.length > 0) {
        metrics.driftRepaired.inc({ sink: sink.name }, repaired.length);
        options.logger.info({ scope: report.scope, keys: repaired.length }, "drift repaired");
      }
      options.beforeWrite?.();
      await sink.apply(plan); // refuses, atomically with its write, a plan a later record's apply overtook
      for (const notice of conflictNotices(sink.name, plan, claims)) options.onConflict?.(notice);
      metrics.keys.inc({ sink: sink.name, action: "set" }, plan.manifest.report.set);
      metrics.keys.inc({ sink: sink.name, action: "unchanged" }, plan.manifest.report.unchanged);
      metrics.keys.inc({ sink: sink.name, action: "pruned" }, plan.manifest.report.pruned);
      metrics.applyDuration.observe({ sink: sink.name, outcome: "applied" }, elapsed() / 1000);
      return report.applied(counts(plan.manifest), {
        warnings: plan.warnings,
        durationMs: elapsed(),
        ...(repaired === undefined ? {} : { repaired }),
      });
    } catch (err) {
      if (err instanceof StaleWriteError) {
        options.onStale?.(err);
        return report.applied(
          { set: 0, unchanged: 0, pruned: 0 },
          { warnings: [`superseded: ${err.message}`], durationMs: elapsed() },
        );
      }
      lastError = err as Error;
      options.logger.warn({ err, scope: report.scope, attempt }, "apply failed");
      // Undo what a half-done apply left; if the store is unreachable, its next read of the scope will.
      await sink.restore(desired.scope).catch((restoreErr: Error) => {
        options.logger.warn({ err: restoreErr, scope: report.scope }, "restore deferred: the store did not answer");
      });
      if (attempt < options.maxRetries) {
        metrics.retries.inc({ sink: sink.name });
        await delay(backoffMs(attempt, options.retryBaseMs, 5_000), options.signal);
      }
    }
  }
  metrics.rollbacks.inc({ sink: sink.name });
  metrics.applyDuration.observe({ sink: sink.name, outcome: "failed" }, elapsed() / 1000);
  return report.failed(lastError ?? new Error("apply failed"), { durationMs: elapsed() });
}

/** The keys of a repair plan whose stored value differs from the desired one. */
async function drifted(sink: Sink, plan: ApplyPlan): Promise<string[]> {
  const current = await sink.readValues(plan.scope.destination, Object.keys(plan.set), plan.scope);
  return Object.entries(plan.set)
    .filter(([key, value]) => current[key] !== canonicalText(value))
    .map(([key]) => key);
}

function counts(manifest: Manifest): { set: number; unchanged: number; pruned: number } {
  const { set, unchanged, pruned } = manifest.report;
  return { set, unchanged, pruned };
}

/** The reports of the other tasks whose keys this apply took over: their own report plus a warning. */
function conflictNotices(sink: string, plan: ApplyPlan, claims: Record<string, Claim>): SinkReport[] {
  const winner = scopeKey(plan.scope);
  const byScope = new Map<string, { manifest: Manifest; keys: string[] }>();
  for (const key of plan.contested) {
    const { scope, manifest } = claims[key]!;
    const entry = byScope.get(scope) ?? { manifest, keys: [] };
    entry.keys.push(key);
    byScope.set(scope, entry);
  }
  return [...byScope]
    .filter(([, { manifest }]) => manifest.task_id !== "")
    .map(([scope, { manifest, keys }]) =>
      sinkReport({ sink, taskId: manifest.task_id, scope, commit: manifest.commit }).applied(counts(manifest), {
        warnings: [
          ...(manifest.report.warnings ?? []),
          ...keys.map(
            (key) =>
              `conflict: ${key} at ${plan.scope.destination} is also claimed by ${winner}, whose later commit wins`,
          ),
        ],
        durationMs: manifest.report.duration_ms ?? 0,
      }),
    );
}
