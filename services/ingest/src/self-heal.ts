import type { Bundle } from "@varstream/bundle";
import { type Logger, parseDuration, SCHEDULED_RESYNC } from "@varstream/shared";
import type { WebhookIntake } from "./intake.ts";

const { selfHeal: SELF_HEAL_REASON, refetch: REFETCH_REASON } = SCHEDULED_RESYNC;

/** Each datasource a `self_heal` rule writes, with the shortest `reconcile_interval` among those rules. */
export function selfHealPlan(bundle: Bundle): Map<string, number> {
  return shortestPer(bundle, (rule) => (rule.self_heal ? rule.reconcile_interval : undefined));
}

/** Each datasource a rule with `refetch_interval` writes, with the shortest such interval. */
export function refetchPlan(bundle: Bundle): Map<string, number> {
  return shortestPer(bundle, (rule) => rule.refetch_interval);
}

function shortestPer(bundle: Bundle, interval: (rule: Bundle["rules"][number]) => string | undefined) {
  const plan = new Map<string, number>();
  for (const rule of bundle.rules) {
    const text = interval(rule);
    if (text === undefined) continue;
    const every = parseDuration(text);
    for (const datasource of rule.datasource) plan.set(datasource, Math.min(every, plan.get(datasource) ?? every));
  }
  return plan;
}

/**
 * Scheduled resyncs. Self-heal: every `reconcile_interval`, a repair resync of each datasource a
 * `self_heal` rule writes; each sink writer then compares the store with the desired key sets of its
 * scopes and writes the drifted keys again — inside its manifests only, reported per scope (`repaired`),
 * counted in `varstream_drift_repaired_keys_total`. Refetch: every `refetch_interval`, a resync that
 * first reads each stored scope's file again at its branch tip, so a push whose webhook never came is
 * synced anyway. Ingest replicas each schedule; the ETL drops one that closely follows another of the
 * same kind and datasource.
 */
export function startSelfHeal(intake: WebhookIntake, bundle: Bundle, logger: Logger): { stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  const schedule = (plan: Map<string, number>, reason: string, refetch: boolean) => {
    for (const [datasource, every] of plan) {
      const timer = setInterval(() => {
        intake
          .resync({ datasource, source: "resync", reason, refetch, requestedBy: reason })
          .catch((err: Error) =>
            logger.warn({ err: err.message, datasource, reason }, "scheduled resync not accepted; next interval"),
          );
      }, every);
      timer.unref();
      timers.push(timer);
      logger.info({ datasource, every_ms: every, reason }, `${reason} scheduled`);
    }
  };
  schedule(selfHealPlan(bundle), SELF_HEAL_REASON, false);
  schedule(refetchPlan(bundle), REFETCH_REASON, true);
  return { stop: () => timers.forEach(clearInterval) };
}
