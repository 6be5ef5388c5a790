import type { Bundle } from "@varstream/bundle";
import { type Logger, parseDuration } from "@varstream/shared";
import type { WebhookIntake } from "./intake.ts";

/** The reason self-heal resyncs carry: the ETL skips one that follows another of its datasource closely. */
export const SELF_HEAL_REASON = "self-heal";

/** Each datasource a `self_heal` rule writes, with the shortest `reconcile_interval` among those rules. */
export function selfHealPlan(bundle: Bundle): Map<string, number> {
  const plan = new Map<string, number>();
  for (const rule of bundle.rules) {
    if (!rule.self_heal) continue;
    const every = parseDuration(rule.reconcile_interval);
    for (const datasource of rule.datasource) plan.set(datasource, Math.min(every, plan.get(datasource) ?? every));
  }
  return plan;
}

/**
 * Self-heal: every `reconcile_interval`, a repair resync of each datasource a `self_heal` rule writes.
 * Each sink writer then compares the store with the desired key sets of its scopes and writes the
 * drifted keys again — inside its manifests only, reported per scope (`repaired`), counted in
 * `varstream_drift_repaired_keys_total`. Ingest replicas each schedule; the ETL drops a self-heal
 * resync that closely follows another of the same datasource.
 */
export function startSelfHeal(intake: WebhookIntake, bundle: Bundle, logger: Logger): { stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  for (const [datasource, every] of selfHealPlan(bundle)) {
    const timer = setInterval(() => {
      intake
        .resync({ datasource, source: "resync", reason: SELF_HEAL_REASON, requestedBy: SELF_HEAL_REASON })
        .catch((err: Error) =>
          logger.warn({ err: err.message, datasource }, "self-heal resync not accepted; next interval"),
        );
    }, every);
    timer.unref();
    timers.push(timer);
    logger.info({ datasource, every_ms: every }, "self-heal scheduled");
  }
  return { stop: () => timers.forEach(clearInterval) };
}
