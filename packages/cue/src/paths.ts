import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A file packages/cue/build.sh leaves in the checkout's .cache/cue, or in VARSTREAM_CUE_DIR when that is set
 * (the packed CLI carries its evaluator in a folder of its own).
 */
export function cacheFile(name: string): string {
  const dir = process.env.VARSTREAM_CUE_DIR;
  if (dir) return join(dir, name);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  return join(root, ".cache", "cue", name);
}
