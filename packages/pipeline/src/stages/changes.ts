import type { FileChange, WebhookEvent } from "@varstream/shared";
import type { ProcessDeps } from "./deps.ts";

/**
 * Stage 1, changes: the files the event changed. A push lists them; a pull request's payload has none,
 * so its base and head are diffed; a new tag lists none, so every file at the tag is its config.
 * Throws PermanentGitError when Git refuses (the event fails), TransientGitError when it is away.
 */
export async function changedFiles(event: WebhookEvent, deps: ProcessDeps): Promise<FileChange[]> {
  if (event.pr) {
    const pr = event.pr;
    const base = /^[0-9a-f]{40}$/.test(event.before) ? event.before : `refs/heads/${pr.base_ref ?? "main"}`;
    return deps.repos.withCommits(event.repo.clone_url, [event.after], (repo) => repo.changes(base, event.after), [
      event.ref,
    ]);
  }
  if (event.event === "tag" && event.changes.length === 0) {
    const files = await deps.repos.withCommits(event.repo.clone_url, [event.after], (repo) => repo.files(event.after));
    return files.map((path) => ({ path, status: "added" as const }));
  }
  return event.changes;
}
