import type { WebhookEvent } from "@varstream/shared";
import type { ProcessDeps } from "./deps.ts";
import type { Target } from "./targets.ts";

/**
 * Stage 4, read: the bytes of every file still to transform, at the event's commit (null: not there).
 * One repository lock for them all; a pull request's head ref is fetched with its commit. Files the
 * payload says were removed are read too: a tombstone needs git's word that the file is gone.
 */
export function readFiles(
  event: WebhookEvent,
  targets: Target[],
  deps: ProcessDeps,
): Promise<Map<string, Buffer | null>> {
  const toRead = [...new Set(targets.filter((t) => !t.removed || t.removedInGit).map((t) => t.path))];
  return deps.repos.withCommits(
    event.repo.clone_url,
    [event.after],
    async (repo) => {
      const out = new Map<string, Buffer | null>();
      for (const path of toRead) out.set(path, await repo.read(event.after, path));
      return out;
    },
    event.pr ? [event.ref] : [],
  );
}
