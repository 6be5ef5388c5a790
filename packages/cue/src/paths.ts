import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A file packages/cue/build.sh leaves in the checkout's .cache/cue. */
export function cacheFile(name: string): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  return join(root, ".cache", "cue", name);
}
