import type { Rule } from "@varstream/bundle";
import type { WebhookEvent } from "@varstream/shared";

/** Env names are normalized once, before any sink sees them: lower case, `[a-z0-9._-]`, others → `-`. */
export function normalizeEnv(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9._-]/g, "-");
}

/**
 * The environment of an event for a rule: a pull request's is always `pr-<n>` (`env_as_pr`); else the
 * first hit of `branch_map[branch]` → `file_path_map` env → `env_as_tags` (the tag) → `env_as_branch`
 * (the branch) → `"default"`.
 */
export function resolveEnv(rule: Rule, event: WebhookEvent, pathEnv: string | undefined): string {
  // A pull request only ever writes its own env: its head branch or the files it touches never map it
  // into a shared one.
  if (rule.env_as_pr && event.pr !== undefined) return normalizeEnv(`pr-${event.pr.number}`);
  // Own keys only: a branch named `constructor` or `__proto__` maps to nothing.
  const mapped =
    event.branch !== undefined && Object.hasOwn(rule.branch_map, event.branch)
      ? rule.branch_map[event.branch]
      : undefined;
  if (mapped !== undefined) return normalizeEnv(mapped);
  if (pathEnv !== undefined) return normalizeEnv(pathEnv);
  if (rule.env_as_pr && event.pr !== undefined) return normalizeEnv(`pr-${event.pr.number}`);
  if (rule.env_as_tags && event.tag !== undefined) return normalizeEnv(event.tag);
  if (rule.env_as_branch && event.branch !== undefined) return normalizeEnv(event.branch);
  return "default";
}

/** Fills a destination template; placeholders were checked when the bundle loaded. */
export function renderDestination(
  template: string,
  values: { tenant: string; env: string; repo: string; file_stem: string },
): string {
  return template.replace(/\{(tenant|env|repo|file_stem)\}/g, (_, name: keyof typeof values) => values[name]);
}

export function fileStem(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}
