import type { Bundle, Rule } from "@varstream/bundle";
import { type KeySet, scopeKey } from "@varstream/shared";
import { fileStem, renderDestination } from "./environment.ts";
import { glob, pathMatch, repoMatches } from "./rules.ts";

/** A stored scope that no rule of the bundle produces any more, and how many keys it holds. */
export interface Orphan {
  scope: string;
  datasource: string;
  destination: string;
  repo: string;
  file: string;
  env: string;
  keys: number;
  /** the stored key set's version (a tombstone removing it must be newer) */
  version?: number;
}

/**
 * Whether a rule of the bundle still produces a stored key set's scope: a rule writing its datasource,
 * for its platform, that takes its repository, its file and its kind of ref (a pull request only with
 * `env_as_pr`, a tag only with `env_as_tags`, a branch within `branches`), and whose
 * `destination_template` renders its destination for its env. Removing a rule, or changing what it
 * matches or where it writes, leaves the old scopes orphaned: nothing would ever update or delete them.
 */
export function isProduced(bundle: Bundle, keySet: KeySet): boolean {
  return bundle.rules.some((rule) => produces(bundle, rule, keySet));
}

function produces(bundle: Bundle, rule: Rule, k: KeySet): boolean {
  const { scope } = k;
  if (!rule.datasource.includes(scope.datasource)) return false;
  if (k.platform !== undefined && bundle.platforms.get(rule.platform)?.kind !== k.platform) return false;
  if (!repoMatches(rule, k.repo) || pathMatch(rule, scope.file) === undefined) return false;
  if (!refTaken(rule, k.ref)) return false;
  const destination = renderDestination(rule.destination_template, {
    tenant: rule.tenant,
    env: k.env,
    repo: k.repo,
    file_stem: fileStem(scope.file),
  });
  return destination === scope.destination;
}

/** The rule takes this kind of ref (its base branch is not recorded for a pull request's scopes). */
function refTaken(rule: Rule, ref: string): boolean {
  if (ref.startsWith("refs/pull/") || ref.startsWith("refs/merge-requests/")) return rule.env_as_pr;
  if (ref.startsWith("refs/tags/")) return rule.env_as_tags;
  if (!ref.startsWith("refs/heads/")) return true;
  const branch = ref.slice("refs/heads/".length);
  return rule.branches.some((p) => glob(p)(branch)) && !rule.exclude_branches.some((p) => glob(p)(branch));
}

/** The stored key sets (latest per scope, tombstones left out) no rule produces, sorted by scope. */
export function orphanedScopes(bundle: Bundle, keysets: Iterable<KeySet>): Orphan[] {
  const out: Orphan[] = [];
  for (const k of keysets) {
    if (isProduced(bundle, k)) continue;
    const { datasource, destination, repo, file } = k.scope;
    out.push({
      scope: scopeKey(k.scope),
      datasource,
      destination,
      repo,
      file,
      env: k.env,
      keys: Object.keys(k.keys).length,
      ...(k.version === undefined ? {} : { version: k.version }),
    });
  }
  return out.sort((a, b) => a.scope.localeCompare(b.scope));
}
