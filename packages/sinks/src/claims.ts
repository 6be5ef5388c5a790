import type { Claim, Manifest } from "./contract.ts";

/** The keys of `keys` that one of `others` (scope key → manifest) claims, with the first claimer. */
export function claimedBy(keys: string[], others: Iterable<[string, Manifest | null]>): Record<string, Claim> {
  const wanted = new Set(keys);
  const out: Record<string, Claim> = {};
  for (const [scope, manifest] of others) {
    if (!manifest || manifest.deleted) continue;
    for (const key of Object.keys(manifest.keys))
      if (wanted.has(key) && !Object.hasOwn(out, key)) out[key] = { scope, manifest };
  }
  return out;
}
