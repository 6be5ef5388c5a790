import { backoffMs, canonicalText, delay, type Logger, metrics, type SinkReport, scopeKey } from "@varstream/shared";
import type { Sink } from "../sinks/sink.ts";
import { type Desired, planApply } from "./plan.ts";

export interface ApplyOptions {
  maxRetries: number;
  retryBaseMs: number;
  logger: Logger;
  signal?: AbortSignal;
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
          ...manifest.report,
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
      base.warnings = Object.keys(claimed)
        .filter((key) => !plan.stale.includes(key))
        .map((key) => `conflict: ${key} at ${plan.destination} is also claimed by ${claimed[key]}; this commit wins`);
      if (plan.stale.some((key) => key in claimed)) {
        plan.stale = plan.stale.filter((key) => !(key in claimed));
        plan.manifest.report.pruned = plan.stale.length;
      }
      await sink.apply(plan);
      metrics.keys.inc({ sink: sink.name, action: "set" }, plan.manifest.report.set);
      metrics.keys.inc({ sink: sink.name, action: "unchanged" }, plan.manifest.report.unchanged);
      metrics.keys.inc({ sink: sink.name, action: "pruned" }, plan.manifest.report.pruned);
      metrics.applyDuration.observe({ sink: sink.name, outcome: "applied" }, (performance.now() - started) / 1000);
      return {
        ...base,
        outcome: "applied",
        ...plan.manifest.report,
        ...(repaired === undefined ? {} : { repaired }),
        rolled_back: false,
        duration_ms: performance.now() - started,
        at: new Date().toISOString(),
      };
    } catch (err) {
      lastError = err as Error;
      options.logger.warn({ err, scope: base.scope, attempt }, "apply failed");
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

function scopeKeyOf(desired: Desired): string {
  return scopeKey(desired.scope);
}
