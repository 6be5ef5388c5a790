import type { FileChange } from "@varstream/shared";

export interface CommitFiles {
  added?: string[];
  modified?: string[];
  removed?: string[];
}

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
