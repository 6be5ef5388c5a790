import type { FileChange, Normalization, NormalizedPayload } from "./adapter.ts";
import { PlatformError } from "./errors.ts";

export interface CommitFiles {
  added?: string[];
  modified?: string[];
  removed?: string[];
}

export const ZERO_SHA = /^0+$/;

/** Pull request actions that change what a PR environment should hold, by their normalized name. */
export const PR_ACTIONS = new Set(["opened", "synchronize", "reopened", "closed"]);

/**
 * Net file changes of a push from its commits in order: a file added then removed within the push is
 * no change; removed then added again is modified.
 */
export function netChanges(commits: CommitFiles[]): FileChange[] {
  const first = new Map<string, "added" | "modified" | "removed">();
  const last = new Map<string, "added" | "modified" | "removed">();
  for (const commit of commits) {
    for (const status of ["added", "modified", "removed"] as const) {
      for (const path of commit[status] ?? []) {
        if (!first.has(path)) first.set(path, status);
        last.set(path, status);
      }
    }
  }
  const changes: FileChange[] = [];
  for (const [path, firstStatus] of first) {
    const existedBefore = firstStatus !== "added";
    const existsAfter = last.get(path) !== "removed";
    if (existedBefore && existsAfter) changes.push({ path, status: "modified" });
    else if (existsAfter) changes.push({ path, status: "added" });
    else if (existedBefore) changes.push({ path, status: "removed" });
  }
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}

/** A changed path must be a plain relative path inside the repository: no `..`, no absolute path. */
export function checkPaths(changes: FileChange[]): FileChange[] {
  for (const change of changes) {
    for (const path of [change.path, change.old_path]) {
      if (path === undefined) continue;
      const parts = path.split("/");
      if (path.startsWith("/") || parts.includes("..") || parts.includes(".") || /[\0\r\n]/.test(path)) {
        throw new PlatformError("INVALID_PAYLOAD", `changed path ${JSON.stringify(path)} is not a plain relative path`);
      }
    }
  }
  return changes;
}

export function refNames(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith("refs/heads/")) return { branch: ref.slice("refs/heads/".length) };
  if (ref.startsWith("refs/tags/")) return { tag: ref.slice("refs/tags/".length) };
  return {};
}

/** A push (branch or tag) of any platform, once its payload is parsed. */
export interface ParsedPush {
  platform: string;
  repo: NormalizedPayload["repo"];
  ref: string;
  before: string;
  after: string;
  commits: CommitFiles[];
}

/**
 * The normalized event of a push: a deleted ref or a branch push that changes no file is ignored; a
 * tag push may list no file (ETL then reads every file at the tag).
 */
export function pushEvent(push: ParsedPush): Normalization {
  if (ZERO_SHA.test(push.after)) return { kind: "ignored", reason: `${push.ref} was deleted` };
  const names = refNames(push.ref);
  const changes = checkPaths(netChanges(push.commits));
  if (changes.length === 0 && names.tag === undefined) return { kind: "ignored", reason: "push changes no file" };
  return {
    kind: "event",
    payload: {
      platform: push.platform,
      event: names.tag === undefined ? "push" : "tag",
      repo: push.repo,
      ref: push.ref,
      ...names,
      before: push.before,
      after: push.after,
      changes,
    },
  };
}
