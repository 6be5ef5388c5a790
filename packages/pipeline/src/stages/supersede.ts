import { scopeKey, type WebhookEvent } from "@varstream/shared";
import { PermanentGitError } from "../git/errors.ts";
import type { ProcessDeps } from "./deps.ts";
import type { Target } from "./targets.ts";

/**
 * Stage 3, supersede: a late event, whose commit is an ancestor of what a scope already got, must not
 * roll that scope back. Returns the targets still to do and the scope keys skipped. When Git cannot
 * tell (a commit it refuses), nothing is skipped.
 */
export async function dropSuperseded(
  event: WebhookEvent,
  targets: Target[],
  deps: ProcessDeps,
): Promise<{ remaining: Target[]; skipped: string[] }> {
  const withLast = targets
    .map((t) => ({ target: t, last: deps.lastCommit?.(scopeKey(t.scope)) }))
    .filter((x): x is { target: Target; last: string } => x.last !== undefined && x.last !== event.after);
  if (withLast.length === 0) return { remaining: targets, skipped: [] };
  let superseded: Target[];
  try {
    superseded = await deps.repos.withCommits(event.repo.clone_url, [event.after], async (repo) => {
      const out: Target[] = [];
      let refreshed = false;
      for (const { target, last } of withLast) {
        if (await repo.isAncestor(event.after, last)) {
          out.push(target);
          continue;
        }
        if (event.branch === undefined || (await repo.isAncestor(last, event.after))) continue; // newer: synced
        // Neither descends from the other as this cache knows them: a force-push came between, or `last`
        // was synced by another ETL replica and is not here. The branch as the remote holds it now decides:
        // an event whose commit is behind `last`, or no longer on its branch, is late.
        if (!refreshed) {
          await repo.refreshHeads();
          refreshed = true;
        }
        if ((await repo.isAncestor(event.after, last)) || !(await repo.onBranch(event.after, event.branch)))
          out.push(target);
      }
      return out;
    });
  } catch (err) {
    if (err instanceof PermanentGitError) return { remaining: targets, skipped: [] };
    throw err;
  }
  const skipped = new Set(superseded.map((t) => scopeKey(t.scope)));
  return { remaining: targets.filter((t) => !skipped.has(scopeKey(t.scope))), skipped: [...skipped] };
}
