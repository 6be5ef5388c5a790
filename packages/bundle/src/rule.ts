import { doc, SyncMode } from "@varstream/shared";
import { z } from "zod";

/** varTrack's sync mode names map onto varstream's three. */
const SYNC_MODE_ALIASES: Record<string, SyncMode> = {
  SYNC_MODE_GIT_UPSERT_ALL: "upsert",
  SYNC_MODE_GIT_SMART_REPAIR: "mirror",
  SYNC_MODE_LIVE_STATE: "repair",
  SYNC_MODE_AUTO: "mirror",
};

const RuleSyncMode = z.string().transform((v, ctx) => {
  const mode = SYNC_MODE_ALIASES[v] ?? v;
  const parsed = SyncMode.safeParse(mode);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: `unknown sync_mode ${v}` });
    return z.NEVER;
  }
  return parsed.data;
});

export const TEMPLATE_PLACEHOLDERS = ["tenant", "env", "repo", "file_stem"] as const;

const DestinationTemplate = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    for (const match of template.matchAll(/\{([^}]*)\}/g)) {
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(match[1] ?? "")) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder {${match[1]}}; known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(" ")}`,
        });
      }
    }
    if (template.includes("|")) ctx.addIssue({ code: "custom", message: "a destination cannot contain '|'" });
  });

const globs = (description: string, fallback: string[], example?: string[]) =>
  doc(z.array(z.string().min(1)).default(fallback), description, example);

/** Routes the files of matching repositories to datasources, and says how they become key sets. */
export const Rule = z
  .object({
    name: doc(z.string().optional(), "a name for logs and docs", "app-config"),
    platform: doc(z.string().min(1), "the platform (by name) whose webhooks this rule serves", "github"),
    datasource: doc(
      z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
      "the datasource (by name) it writes, or several: one task then writes each of them",
      ["redis", "file"],
    ),
    repositories: globs("repositories (`owner/name` globs) the rule applies to", ["**"], ["acme/*-config"]),
    exclude_repositories: globs("repositories it never applies to, even when matched above", []),
    branches: globs(
      "branches (globs) whose pushes it syncs; a pull request is taken by its base branch",
      ["**"],
      ["main", "release/*"],
    ),
    exclude_branches: globs("branches it never syncs, even when matched above", [], ["wip/**"]),
    file_name: doc(z.string().min(1).optional(), "the one file path it reads", "config/app.yaml"),
    file_patterns: globs("file path globs it reads", [], ["config/**/*.yaml"]),
    file_path_map: doc(
      z.record(z.string(), z.string().min(1)).default({}),
      "env → file path: each env's own file (also how the env of a changed file is found)",
      { production: "config/prod.yaml", staging: "config/staging.yaml" },
    ),
    root_key: doc(z.string().min(1).optional(), "a dotted path into the file: only that subtree is synced", "app"),
    env_layout: doc(
      z.enum(["none", "top", "leaf"]).default("none"),
      "none: the file is one env's; top: top-level keys are envs; leaf: leaves hold `{<env>: value}` maps",
    ),
    envs: globs("env names this rule knows besides those of branch_map and file_path_map (for env_layout leaf)", []),
    separator: doc(z.string().min(1).default("."), "joins the segments of a flattened key"),
    destination_template: doc(
      DestinationTemplate.default("{env}/{file_stem}"),
      "where the key set is written in each sink; placeholders {tenant} {env} {repo} {file_stem}",
    ),
    tenant: doc(z.string().default("default"), "the {tenant} of destination_template"),
    prune: doc(
      z.boolean().default(false),
      "delete keys varstream wrote before that the file no longer has (off by default, as in varTrack)",
    ),
    protection: globs("keys never pruned (globs over flattened keys)", [], ["local.*"]),
    sync_mode: doc(
      RuleSyncMode.optional(),
      "mirror (diff and prune), upsert (write, never prune) or repair (rewrite every key); varTrack's SYNC_MODE_* names are accepted",
      "mirror",
    ),
    branch_map: doc(
      z.record(z.string(), z.string().min(1)).default({}),
      "branch → env, tried first when finding a push's env",
      { main: "production", develop: "staging" },
    ),
    env_as_branch: doc(
      z.boolean().default(false),
      "a push to any other branch syncs into an env named after the branch",
    ),
    env_as_pr: doc(
      z.boolean().default(false),
      "a pull request syncs into its own env `pr-<n>`, taken down when it closes; without it, pull requests are not synced",
    ),
    env_as_tags: doc(
      z.boolean().default(false),
      "a tag push syncs into an env named after the tag; without it, tag pushes are not synced",
    ),
    labels: doc(
      z.record(z.string(), z.string()).default({}),
      "labels carried on the key set, for sinks that keep them",
    ),
    variables_map: doc(
      z.record(z.string(), z.string()).default({}),
      "renames flattened keys: source key → destination key",
      { "db.url": "DATABASE_URL" },
    ),
    require_schema: doc(
      z.boolean().default(false),
      "a file with no schema in the registry fails (true) or passes unvalidated (false)",
    ),
    secret_refs: globs(
      "the `@secret()` references a file of this rule may name (globs; `{tenant}` is the rule's tenant); any other, `env:` and `file:` included, fails the file",
      [],
      ["vault:apps/{tenant}/*", "env:APP_*"],
    ),
    self_heal: doc(
      z.boolean().default(false),
      "every reconcile_interval, the datasources this rule writes are compared with their desired state and drifted keys are written again (a repair resync)",
    ),
    reconcile_interval: doc(
      z
        .string()
        .regex(/^\d+(ms|s|m|h|d)?$/, "a duration such as 30s, 3m or 1h")
        .default("3m"),
      "how often self_heal reconciles",
    ),
    refetch_interval: doc(
      z
        .string()
        .regex(/^\d+(ms|s|m|h|d)?$/, "a duration such as 30s, 3m or 1h")
        .optional(),
      "when set, every refetch_interval the files this rule's datasources hold are read again at their branch tips and synced (a refetch resync): a webhook that never arrived is caught up; unset, only webhooks sync",
    ),
    strict_validation: doc(
      z.boolean().default(true),
      "a schema violation fails the file (true) or is written with the violations as warnings (false)",
    ),
  })
  .strict();
export type Rule = z.infer<typeof Rule>;
