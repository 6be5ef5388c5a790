import type { Bundle } from "@varstream/bundle";
import {
  type EtlReport,
  etlReport,
  type FileReport,
  type KeySet,
  PIPELINE_ERRORS,
  PipelineError,
  type PipelineErrorCode,
  SCHEMA_REGISTRY_DATASOURCE,
  type Scope,
  scopeKey,
  type WebhookEvent,
} from "@varstream/shared";
import { formatOf } from "./formats/index.ts";
import { PermanentGitError } from "./git/errors.ts";
import { cloneUrlAllowedForEvent } from "./routing/clone-url.ts";
import { changedFiles } from "./stages/changes.ts";
import type { ProcessDeps } from "./stages/deps.ts";
import { toKeySet } from "./stages/keysets.ts";
import { readFiles } from "./stages/read.ts";
import { dropSuperseded } from "./stages/supersede.ts";
import { findTargets, type Target } from "./stages/targets.ts";
import { type Parsed, SchemaFailure, transformTarget } from "./stages/transform.ts";

export type { ProcessDeps } from "./stages/deps.ts";

export interface EtlOutput {
  keysets: KeySet[];
  /** scopes whose file is gone: a tombstone each */
  tombstones: Scope[];
  report: EtlReport;
}

/** Why the event is refused before Git is asked, if it is. */
function refusal(event: WebhookEvent, bundle: Bundle): { code: PipelineErrorCode; message: string } | undefined {
  if (!bundle.datasources.has(event.datasource)) {
    return { code: "UNKNOWN_DATASOURCE", message: `no datasource named ${event.datasource}` };
  }
  if (!cloneUrlAllowedForEvent(bundle, event)) {
    return {
      code: "CLONE_URL_REFUSED",
      message: `clone url of ${event.repo.full_name} is not that repository under ${event.platform_name ?? `any ${event.platform}`} platform's endpoint`,
    };
  }
  return undefined;
}

/**
 * Turns one event into the key sets of every scope it touches, in named stages: changes → targets →
 * supersede → read → parse/slice/validate → key sets. All or nothing: when any file fails, the event
 * emits nothing and its task fails with each file's reason and code. Throws only for transient trouble
 * (git unreachable, a retryable code), which the caller retries.
 */
export async function processEvent(event: WebhookEvent, deps: ProcessDeps): Promise<EtlOutput> {
  const now = (deps.now ?? (() => new Date()))().toISOString();
  const report = etlReport(event.task_id, event.after, now);
  const none = { keysets: [], tombstones: [] };

  if (event.datasource === SCHEMA_REGISTRY_DATASOURCE) {
    if (!deps.schemas)
      return { ...none, report: report.failed("NO_SCHEMA_REGISTRY", "the bundle has no schema_registry") };
    const head = await deps.schemas.refresh();
    return { ...none, report: report.emitted(`schema registry refreshed at ${head.slice(0, 12)}`) };
  }
  const refused = refusal(event, deps.bundle);
  if (refused) return { ...none, report: report.failed(refused.code, refused.message) };

  try {
    const changes = await changedFiles(event, deps);
    const targets = findTargets(event, changes, deps.bundle);
    if (targets.length === 0) return { ...none, report: report.noMatch("no matching rule") };
    // A destination is a path in file and ssh sinks and a key prefix in the others: no walking up.
    const walking = targets.find((t) =>
      t.scope.destination.split("/").some((s) => s === "" || s === "." || s === ".."),
    );
    if (walking) {
      return {
        ...none,
        report: report.failed(
          "DESTINATION_REFUSED",
          `${walking.path} renders destination ${JSON.stringify(walking.scope.destination)}, which has an empty, . or .. segment`,
        ),
      };
    }

    // A push is synced only when its commit is on the branch it names: a payload (forged with a leaked
    // secret, or replayed after a force-push) cannot make a fork's commit or a dropped one production's.
    if (event.pr === undefined && event.tag === undefined && event.branch !== undefined && !/^0+$/.test(event.after)) {
      const branch = event.branch;
      const onBranch = await deps.repos.withCommits(event.repo.clone_url, [event.after], (repo) =>
        repo.onBranch(event.after, branch),
      );
      if (!onBranch) {
        const message = `superseded: ${event.after.slice(0, 12)} is not on ${branch} (force-pushed away, or never pushed there); nothing synced`;
        return { ...none, report: report.superseded(message) };
      }
    }

    const { remaining, skipped } = await dropSuperseded(event, targets, deps);
    if (remaining.length === 0) {
      const message = `superseded: ${event.after.slice(0, 12)} is older than what its scopes already hold`;
      return { ...none, report: report.superseded(message) };
    }
    report.warnings.push(...skipped.map((s) => `superseded scope ${s}`));

    const unreadable = remaining.find((t) => !t.removed && formatOf(t.path) === undefined);
    if (unreadable) {
      return { ...none, report: report.failed("PARSE_ERROR", `no parser for ${unreadable.path} (matched by a rule)`) };
    }
    const contents = await readFiles(event, remaining, deps);
    // A file the payload calls removed but git still has at `after` is synced as it is, not deleted.
    const confirmed = remaining.map((t) => {
      if (!t.removedInGit || (contents.get(t.path) ?? null) === null) return t;
      report.warnings.push(
        `${t.path} is listed as removed but exists at ${event.after.slice(0, 12)}: synced, not deleted`,
      );
      return { ...t, removed: false, removedInGit: false };
    });
    return await buildKeySets(event, confirmed, contents, deps, report, now);
  } catch (err) {
    if (err instanceof PermanentGitError) return { ...none, report: report.failed(err.code, err.message) };
    throw err;
  }
}

/** Stages 5 and 6 over every target: the key sets and tombstones, or the files that failed. */
async function buildKeySets(
  event: WebhookEvent,
  targets: Target[],
  contents: Map<string, Buffer | null>,
  deps: ProcessDeps,
  report: ReturnType<typeof etlReport>,
  now: string,
): Promise<EtlOutput> {
  const files: FileReport[] = [];
  const keysets: KeySet[] = [];
  const tombstones: Scope[] = [];
  const parsed = new Map<string, Parsed>();
  for (const target of targets) {
    if (target.removed) {
      tombstones.push(target.scope);
      continue;
    }
    const fileReport = (keys: number, validation: FileReport["validation"], error?: PipelineError): FileReport => ({
      path: target.path,
      format: formatOf(target.path) ?? "unknown",
      keys,
      validation,
      ...(error === undefined ? {} : { error: error.message, code: error.code }),
    });
    try {
      const { keys, validation, marks } = await transformTarget(event, target, contents.get(target.path), deps, parsed);
      if (validation.status === "warned") {
        report.warnings.push(...validation.errors.map((e) => `${target.path}: ${e.path}: ${e.message}`));
      }
      keysets.push(toKeySet(event, target, keys, now, marks));
      if (!files.some((f) => f.path === target.path)) files.push(fileReport(Object.keys(keys).length, validation));
    } catch (err) {
      // A file's own fault fails the file; anything transient or unexpected is the caller's.
      if (!(err instanceof PipelineError) || PIPELINE_ERRORS[err.code].retry) throw err;
      const validation = err instanceof SchemaFailure ? err.validation : { status: "skipped" as const, errors: [] };
      if (!files.some((f) => f.path === target.path && f.error)) files.push(fileReport(0, validation, err));
    }
  }
  const failedFiles = files.filter((f) => f.error);
  if (failedFiles.length > 0) {
    const reasons = failedFiles.map((f) => `${f.path}: ${f.error}`);
    return {
      keysets: [],
      tombstones: [],
      report: report.failed(failedFiles[0]!.code ?? "INTERNAL", reasons.join("; "), files),
    };
  }
  const scopes = [...keysets.map((k) => k.scope), ...tombstones].map(scopeKey);
  const envs = [...new Set(targets.map((t) => t.env))];
  return {
    keysets,
    tombstones,
    report: report.emitted(`${keysets.length} key set(s), ${tombstones.length} removal(s)`, {
      env: envs.join(","),
      files,
      scopes,
    }),
  };
}
