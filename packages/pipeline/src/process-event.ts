import type { Bundle, Rule } from "@varstream/bundle";
import {
  applyVariablesMap,
  type EtlReport,
  type FileReport,
  FlattenError,
  type FlatValue,
  flatten,
  type KeySet,
  SCHEMA_REGISTRY_DATASOURCE,
  type Scope,
  scopeKey,
  typeOf,
  type WebhookEvent,
} from "@varstream/shared";
import { formatOf, ParseError, parseFile } from "./formats/index.ts";
import { PermanentGitError } from "./git/errors.ts";
import type { RepoCache } from "./git/repo-cache.ts";
import { cloneUrlAllowed } from "./routing/clone-url.ts";
import { fileStem, normalizeEnv, renderDestination, resolveEnv } from "./routing/environment.ts";
import { matchRules, type RuleMatch } from "./routing/rules.ts";
import { SelectError, selectRoot, sliceEnv } from "./transform/select.ts";
import { SchemaError, type SchemaRegistry } from "./validation/schema-registry.ts";

export interface EtlOutput {
  keysets: KeySet[];
  /** scopes whose file is gone: a tombstone each */
  tombstones: Scope[];
  report: EtlReport;
}

export interface ProcessDeps {
  bundle: Bundle;
  repos: RepoCache;
  /** the schema registry, when the bundle has one */
  schemas?: SchemaRegistry;
  /** the last commit produced for a scope, if any */
  lastCommit?: (scopeKey: string) => string | undefined;
  now?: () => Date;
}

interface Target {
  path: string;
  removed: boolean;
  match: RuleMatch;
  env: string;
  scope: Scope;
}

function knownEnvs(rule: Rule, env: string): Set<string> {
  return new Set(
    [...rule.envs, ...Object.values(rule.branch_map), ...Object.keys(rule.file_path_map), env].map(normalizeEnv),
  );
}

/** The event's clone URL belongs to a configured platform of its kind (SPEC §4.3). */
export function cloneUrlAllowedForEvent(bundle: Bundle, event: WebhookEvent): boolean {
  return [...bundle.platforms.values()].some(
    (p) => p.kind === event.platform && cloneUrlAllowed(p, event.repo.clone_url),
  );
}

/**
 * Turns one event into the key sets of every scope it touches. All or nothing: when any file fails
 * (parse, root key, env), the event emits nothing and its task fails with each file's reason.
 * Throws only for transient trouble (git unreachable), which the caller retries.
 */
export async function processEvent(event: WebhookEvent, deps: ProcessDeps): Promise<EtlOutput> {
  const now = (deps.now ?? (() => new Date()))().toISOString();
  const base = {
    component: "etl" as const,
    task_id: event.task_id,
    commit: event.after,
    at: now,
    warnings: [] as string[],
  };
  const fail = (message: string, files: FileReport[] = []): EtlOutput => ({
    keysets: [],
    tombstones: [],
    report: { ...base, outcome: "failed", message, files, scopes: [] },
  });

  if (event.datasource === SCHEMA_REGISTRY_DATASOURCE) {
    if (!deps.schemas) return fail("the bundle has no schema_registry");
    const head = await deps.schemas.refresh();
    return {
      keysets: [],
      tombstones: [],
      report: {
        ...base,
        outcome: "emitted",
        message: `schema registry refreshed at ${head.slice(0, 12)}`,
        files: [],
        scopes: [],
      },
    };
  }
  if (!deps.bundle.datasources.has(event.datasource)) return fail(`no datasource named ${event.datasource}`);
  if (!cloneUrlAllowedForEvent(deps.bundle, event)) {
    return fail(`clone url of ${event.repo.full_name} is not under any ${event.platform} platform endpoint`);
  }

  // A pull request's payload has no file list: diff its base and head.
  let changes = event.changes;
  if (event.pr) {
    const pr = event.pr;
    const base = /^[0-9a-f]{40}$/.test(event.before) ? event.before : `refs/heads/${pr.base_ref ?? "main"}`;
    try {
      changes = await deps.repos.withCommits(
        event.repo.clone_url,
        [event.after],
        (repo) => repo.changes(base, event.after),
        [event.ref],
      );
    } catch (err) {
      if (err instanceof PermanentGitError) return fail(err.message);
      throw err;
    }
  }
  // A new tag carries no file list: every file at the tagged commit is the tag's (env_as_tags) config.
  if (event.event === "tag" && changes.length === 0) {
    try {
      const files = await deps.repos.withCommits(event.repo.clone_url, [event.after], (repo) =>
        repo.files(event.after),
      );
      changes = files.map((path) => ({ path, status: "added" as const }));
    } catch (err) {
      if (err instanceof PermanentGitError) return fail(err.message);
      throw err;
    }
  }
  const closing = event.pr?.action === "closed";

  const targets: Target[] = [];
  for (const change of changes) {
    const paths: [string, boolean][] =
      change.status === "renamed" && change.old_path
        ? [
            [change.old_path, true],
            [change.path, false],
          ]
        : [[change.path, change.status === "removed"]];
    for (const [path, removedInGit] of paths) {
      for (const match of matchRules(deps.bundle, event, path)) {
        const env = resolveEnv(match.rule, event, match.pathEnv);
        // A closed pull request takes down its own environment (pr-<n>), never a shared one.
        if (closing && !(match.rule.env_as_pr && env === `pr-${event.pr?.number}`)) continue;
        const removed = removedInGit || closing;
        const destination = renderDestination(match.rule.destination_template, {
          tenant: match.rule.tenant,
          env,
          repo: event.repo.full_name,
          file_stem: fileStem(path),
        });
        for (const datasource of match.rule.datasource) {
          const scope = { datasource, destination, repo: event.repo.full_name, file: path };
          targets.push({ path, removed, match, env, scope });
        }
      }
    }
  }
  if (targets.length === 0) {
    return {
      keysets: [],
      tombstones: [],
      report: { ...base, outcome: "no_match", message: "no matching rule", files: [], scopes: [] },
    };
  }

  // A late event: its commit is an ancestor of what a scope already got. It must not roll the scope back.
  const superseded = await findSuperseded(event, targets, deps);
  if (superseded.length > 0) {
    const skipped = new Set(superseded.map((t) => scopeKey(t.scope)));
    const remaining = targets.filter((t) => !skipped.has(scopeKey(t.scope)));
    if (remaining.length === 0) {
      return {
        keysets: [],
        tombstones: [],
        report: {
          ...base,
          outcome: "superseded",
          message: `superseded: ${event.after.slice(0, 12)} is older than what its scopes already hold`,
          files: [],
          scopes: [],
        },
      };
    }
    base.warnings.push(...[...skipped].map((s) => `superseded scope ${s}`));
    targets.splice(0, targets.length, ...remaining);
  }

  const unreadable = targets.find((t) => !t.removed && formatOf(t.path) === undefined);
  if (unreadable) return fail(`no parser for ${unreadable.path} (matched by a rule)`);

  const toRead = [...new Set(targets.filter((t) => !t.removed).map((t) => t.path))];
  let contents: Map<string, Buffer | null>;
  try {
    contents = await deps.repos.withCommits(
      event.repo.clone_url,
      [event.after],
      async (repo) => {
        const out = new Map<string, Buffer | null>();
        for (const path of toRead) out.set(path, await repo.read(event.after, path));
        return out;
      },
      event.pr ? [event.ref] : [],
    );
  } catch (err) {
    if (err instanceof PermanentGitError) return fail(err.message);
    throw err;
  }

  const files: FileReport[] = [];
  const keysets: KeySet[] = [];
  const tombstones: Scope[] = [];
  const parsed = new Map<string, Awaited<ReturnType<typeof parseFile>>>();
  let failed = false;
  for (const target of targets) {
    if (target.removed) {
      tombstones.push(target.scope);
      continue;
    }
    const format = formatOf(target.path) ?? "unknown";
    let validation: FileReport["validation"] = { status: "skipped", errors: [] };
    const report = (keys: number, error?: string): FileReport => ({
      path: target.path,
      format,
      keys,
      validation,
      ...(error === undefined ? {} : { error }),
    });
    try {
      const bytes = contents.get(target.path);
      if (bytes === null || bytes === undefined) {
        throw new SelectError(`${target.path} does not exist at ${event.after.slice(0, 12)}`);
      }
      let file = parsed.get(target.path);
      if (!file) {
        file = await parseFile(target.path, bytes);
        parsed.set(target.path, file);
      }
      const { rule } = target.match;
      const selected = sliceEnv(selectRoot(file.tree, rule.root_key), rule, target.env, knownEnvs(rule, target.env));
      const checked = await validateTree(deps, rule, target.path, selected);
      validation = checked.validation;
      if (checked.failure !== undefined) throw new ValidationFailure(checked.failure);
      if (validation.status === "warned") {
        base.warnings.push(...validation.errors.map((e) => `${target.path}: ${e.path}: ${e.message}`));
      }
      const keys = applyVariablesMap(flatten(selected, rule.separator), rule.variables_map);
      const marks = { sensitive: checked.sensitive.map(toKey(rule)), secrets: checked.secret.map(toKey(rule)) };
      keysets.push(toKeySet(event, target, keys, now, marks));
      if (!files.some((f) => f.path === target.path)) files.push(report(Object.keys(keys).length));
    } catch (err) {
      const fileError =
        err instanceof ParseError ||
        err instanceof SelectError ||
        err instanceof FlattenError ||
        err instanceof ValidationFailure ||
        err instanceof SchemaError;
      if (!fileError) throw err;
      failed = true;
      if (!files.some((f) => f.path === target.path && f.error)) files.push(report(0, err.message));
    }
  }
  if (failed) {
    const reasons = files.filter((f) => f.error).map((f) => `${f.path}: ${f.error}`);
    return fail(reasons.join("; "), files);
  }
  const scopes = [...keysets.map((k) => k.scope), ...tombstones].map(scopeKey);
  const envs = [...new Set(targets.map((t) => t.env))];
  return {
    keysets,
    tombstones,
    report: {
      ...base,
      outcome: "emitted",
      message: `${keysets.length} key set(s), ${tombstones.length} removal(s)`,
      env: envs.join(","),
      files,
      scopes,
    },
  };
}

/** A file that breaks its schema under strict validation. */
class ValidationFailure extends Error {
  override name = "ValidationFailure";
}

/** A schema field path (`db.password`) as a flattened key under the rule's separator. */
const toKey = (rule: Rule) => (path: string) => path.split(".").join(rule.separator);

interface Checked {
  validation: FileReport["validation"];
  /** set when the file must fail */
  failure?: string;
  sensitive: string[];
  secret: string[];
}

/**
 * SPEC §4.7: the typed tree (after root_key and env slicing, before flattening) against the file's
 * schema. Violations fail the file under `strict_validation`, else they become warnings.
 */
async function validateTree(deps: ProcessDeps, rule: Rule, path: string, tree: unknown): Promise<Checked> {
  const none = { sensitive: [], secret: [] };
  const found = deps.schemas ? await deps.schemas.schemaFor(path) : undefined;
  if (!found) {
    if (!rule.require_schema) return { validation: { status: "skipped", errors: [] }, ...none };
    const why = deps.schemas ? `no schema for ${path} in the schema registry` : "the bundle has no schema_registry";
    return { validation: { status: "failed", errors: [{ path: "", message: why }] }, failure: why, ...none };
  }
  const { schema } = found;
  const marks = { sensitive: [...schema.sensitive], secret: [...schema.secret] };
  const errors = (await schema.validate(tree)).map((e) => ({
    path: e.path.replace(/^#Config\.?/, ""),
    message: e.message,
  }));
  if (errors.length === 0) return { validation: { status: "passed", errors }, ...marks };
  if (!rule.strict_validation) return { validation: { status: "warned", errors }, ...marks };
  const failure = `schema ${found.file}: ${errors.map((e) => `${e.path || "(root)"}: ${e.message}`).join("; ")}`;
  return { validation: { status: "failed", errors }, failure, ...marks };
}

async function findSuperseded(event: WebhookEvent, targets: Target[], deps: ProcessDeps): Promise<Target[]> {
  const withLast = targets
    .map((t) => ({ target: t, last: deps.lastCommit?.(scopeKey(t.scope)) }))
    .filter((x): x is { target: Target; last: string } => x.last !== undefined && x.last !== event.after);
  if (withLast.length === 0) return [];
  try {
    return await deps.repos.withCommits(event.repo.clone_url, [event.after], async (repo) => {
      const out: Target[] = [];
      for (const { target, last } of withLast) if (await repo.isAncestor(event.after, last)) out.push(target);
      return out;
    });
  } catch (err) {
    if (err instanceof PermanentGitError) return [];
    throw err;
  }
}

function toKeySet(
  event: WebhookEvent,
  target: Target,
  keys: Record<string, FlatValue>,
  now: string,
  marks: { sensitive: string[]; secrets: string[] },
): KeySet {
  const { rule } = target.match;
  const types: KeySet["types"] = {};
  for (const [key, value] of Object.entries(keys)) types[key] = typeOf(value);
  return {
    task_id: event.task_id,
    scope: target.scope,
    repo: event.repo.full_name,
    clone_url: event.repo.clone_url,
    platform: event.platform,
    tenant: rule.tenant,
    ref: event.ref,
    commit: event.after,
    env: target.env,
    keys,
    types,
    labels: rule.labels,
    prune: { enabled: rule.prune, protection: rule.protection },
    sync_mode: rule.sync_mode ?? (rule.prune ? "mirror" : "upsert"),
    produced_at: now,
    received_at: event.received_at,
    ...(marks.sensitive.length > 0 ? { sensitive: marks.sensitive.filter((k) => k in keys) } : {}),
    ...(marks.secrets.length > 0 ? { secrets: marks.secrets.filter((k) => k in keys) } : {}),
  };
}
