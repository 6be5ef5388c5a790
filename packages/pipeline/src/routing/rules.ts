import type { Bundle, Rule } from "@varstream/bundle";
import type { WebhookEvent } from "@varstream/shared";
import picomatch from "picomatch";

const globCache = new Map<string, (s: string) => boolean>();

/** `*` matches within a path segment, `**` across segments. */
export function glob(pattern: string): (s: string) => boolean {
  let matcher = globCache.get(pattern);
  if (!matcher) {
    matcher = picomatch(pattern, { dot: true, nobrace: false, noextglob: true });
    globCache.set(pattern, matcher);
  }
  return matcher;
}

export function repoMatches(rule: Rule, repo: string): boolean {
  return rule.repositories.some((p) => glob(p)(repo)) && !rule.exclude_repositories.some((p) => glob(p)(repo));
}

/**
 * The rule takes the event's branch (`branches` minus `exclude_branches`; a pull request by its base
 * branch), a pull request only when it asks for pull requests (`env_as_pr`), and a tag only when it
 * asks for tags (`env_as_tags`): anyone who can push a tag or open a pull request could otherwise
 * sync any commit.
 */
export function branchMatches(rule: Rule, event: WebhookEvent): boolean {
  if (event.pr !== undefined && !rule.env_as_pr) return false;
  if (event.pr === undefined && event.tag !== undefined) return rule.env_as_tags;
  const branch = event.pr !== undefined ? event.pr.base_ref : event.branch;
  if (branch === undefined) return rule.branches.length === 1 && rule.branches[0] === "**";
  return rule.branches.some((p) => glob(p)(branch)) && !rule.exclude_branches.some((p) => glob(p)(branch));
}

/** How a rule claims a path: its file_name, a file_path_map entry (naming the env), or a pattern. */
export function pathMatch(rule: Rule, path: string): { env?: string } | undefined {
  for (const [env, mapped] of Object.entries(rule.file_path_map)) if (mapped === path) return { env };
  if (
    rule.file_name !== undefined &&
    (rule.file_name === path || (!rule.file_name.includes("/") && basename(path) === rule.file_name))
  ) {
    return {};
  }
  if (rule.file_patterns.some((p) => glob(p)(path))) return {};
  return undefined;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export interface RuleMatch {
  rule: Rule;
  ruleIndex: number;
  /** env named by file_path_map, when the path came from it */
  pathEnv: string | undefined;
}

/** Every rule that takes this path of this event (all matching rules apply). */
export function matchRules(bundle: Bundle, event: WebhookEvent, path: string): RuleMatch[] {
  const matches: RuleMatch[] = [];
  bundle.rules.forEach((rule, ruleIndex) => {
    if (!rule.datasource.includes(event.datasource)) return;
    if (
      event.platform_name !== undefined
        ? rule.platform !== event.platform_name
        : bundle.platforms.get(rule.platform)?.kind !== event.platform
    )
      return;
    if (!branchMatches(rule, event)) return;
    if (!repoMatches(rule, event.repo.full_name)) return;
    const hit = pathMatch(rule, path);
    if (hit) matches.push({ rule, ruleIndex, pathEnv: hit.env });
  });
  return matches;
}
