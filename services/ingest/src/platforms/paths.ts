import type { FileChange } from "@varstream/shared";
import { ApiError } from "../errors.ts";

/** A changed path must be a plain relative path inside the repository: no `..`, no absolute path. */
export function checkPaths(changes: FileChange[]): FileChange[] {
  for (const change of changes) {
    for (const path of [change.path, change.old_path]) {
      if (path === undefined) continue;
      const parts = path.split("/");
      if (path.startsWith("/") || parts.includes("..") || parts.includes(".") || /[\0\r\n]/.test(path)) {
        throw new ApiError("INVALID_PAYLOAD", `changed path ${JSON.stringify(path)} is not a plain relative path`);
      }
    }
  }
  return changes;
}
