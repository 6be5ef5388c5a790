import type { FlatValue, KeySet, Scope } from "@varstream/shared";
import type { Desired } from "@varstream/sinks";

/**
 * A key set of `scope` as the ETL emits it: task `t1`, commit `commit-<task>`, mirror mode, prune on
 * without protection — unless `over` says otherwise.
 */
export function makeKeySet(scope: Scope, keys: Record<string, FlatValue>, over: Partial<KeySet> = {}): KeySet {
  const taskId = over.task_id ?? "t1";
  return {
    task_id: taskId,
    scope,
    repo: scope.repo,
    ref: "refs/heads/main",
    commit: `commit-${taskId}`,
    env: "default",
    keys,
    labels: {},
    prune: { enabled: true, protection: [] },
    sync_mode: "mirror",
    produced_at: new Date().toISOString(),
    ...over,
  };
}

/** What the sink writer applies for a key set record. */
export function desiredOf(keySet: KeySet): Desired {
  return {
    scope: keySet.scope,
    taskId: keySet.task_id,
    commit: keySet.commit,
    keySet,
    ...(keySet.version === undefined ? {} : { version: keySet.version }),
  };
}
