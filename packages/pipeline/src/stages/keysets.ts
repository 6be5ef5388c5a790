import { type FlatValue, type KeySet, typeOf, type WebhookEvent } from "@varstream/shared";
import type { Target } from "./targets.ts";

/** Stage 6, key sets: what one target's keys become on the `keysets` topic. */
export function toKeySet(
  event: WebhookEvent,
  target: Target,
  keys: Record<string, FlatValue>,
  now: string,
  marks: { sensitive: string[]; secrets: string[] },
): KeySet {
  const { rule } = target.match;
  const types: KeySet["types"] = {};
  for (const [key, value] of Object.entries(keys)) types[key] = typeOf(value);
  return {
    task_id: event.task_id,
    scope: target.scope,
    repo: event.repo.full_name,
    clone_url: event.repo.clone_url,
    platform: event.platform,
    tenant: rule.tenant,
    ref: event.ref,
    commit: event.after,
    env: target.env,
    keys,
    types,
    labels: rule.labels,
    prune: { enabled: rule.prune, protection: rule.protection },
    sync_mode: rule.sync_mode ?? (rule.prune ? "mirror" : "upsert"),
    produced_at: now,
    received_at: event.received_at,
    ...(marks.sensitive.length > 0 ? { sensitive: marks.sensitive.filter((k) => Object.hasOwn(keys, k)) } : {}),
    ...(marks.secrets.length > 0 ? { secrets: marks.secrets.filter((k) => Object.hasOwn(keys, k)) } : {}),
  };
}
