import type { Bundle } from "@varstream/bundle";
import type { FileChange, Scope, WebhookEvent } from "@varstream/shared";
import { fileStem, renderDestination, resolveEnv } from "../routing/environment.ts";
import { matchRules, type RuleMatch } from "../routing/rules.ts";

/** One file of the event, as one rule routes it to one datasource. */
export interface Target {
  path: string;
  /** the file is gone (removed, or its pull request closed): the scope gets a tombstone */
  removed: boolean;
  /** removed only by the payload's word (not a closing pull request): git must confirm it is gone */
  removedInGit: boolean;
  match: RuleMatch;
  env: string;
  scope: Scope;
}

/**
 * Stage 2, targets: every (file, rule, datasource) the changes reach, with the file's env and
 * destination. A renamed file is its old path removed and its new one added. A closed pull request
 * takes down its own environment (`pr-<n>`), never a shared one.
 */
export function findTargets(event: WebhookEvent, changes: FileChange[], bundle: Bundle): Target[] {
  const closing = event.pr?.action === "closed";
  const targets: Target[] = [];
  for (const change of changes) {
    const paths: [string, boolean][] =
      change.status === "renamed" && change.old_path
        ? [
            [change.old_path, true],
            [change.path, false],
          ]
        : [[change.path, change.status === "removed"]];
    for (const [path, removedInGit] of paths) {
      for (const match of matchRules(bundle, event, path)) {
        const env = resolveEnv(match.rule, event, match.pathEnv);
        if (closing && !(match.rule.env_as_pr && env === `pr-${event.pr?.number}`)) continue;
        const destination = renderDestination(match.rule.destination_template, {
          tenant: match.rule.tenant,
          env,
          repo: event.repo.full_name,
          file_stem: fileStem(path),
        });
        for (const datasource of match.rule.datasource) {
          const scope = { datasource, destination, repo: event.repo.full_name, file: path };
          targets.push({
            path,
            removed: removedInGit || closing,
            removedInGit: removedInGit && !closing,
            match,
            env,
            scope,
          });
        }
      }
    }
  }
  return targets;
}
