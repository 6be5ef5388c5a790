import { z } from "zod";
import { errorCode, PIPELINE_ERROR_CODES, type PipelineErrorCode } from "../errors/pipeline.ts";
import { EventSource, Platform, type ResyncEvent, type WebhookEvent } from "./event.ts";
import { type Scope, scopeKey } from "./keyset.ts";

/** A pipeline error code of the catalogue (`packages/shared/src/errors/pipeline.ts`). */
export const ErrorCodeField = z.enum(PIPELINE_ERROR_CODES);

/** One validation problem (CUE or parse), addressed by its path in the file's tree. */
export const ValidationError = z.object({ path: z.string(), message: z.string() });

export const FileReport = z.object({
  path: z.string(),
  format: z.string(),
  keys: z.number().int().nonnegative(),
  validation: z.object({
    status: z.enum(["passed", "failed", "skipped", "warned"]),
    errors: z.array(ValidationError),
  }),
  error: z.string().optional(),
  /** with error: its catalogue code */
  code: ErrorCodeField.optional(),
});
export type FileReport = z.infer<typeof FileReport>;

/** Ingest accepted a webhook: the task exists (PENDING). */
export const IngestReport = z.object({
  component: z.literal("ingest"),
  task_id: z.string(),
  delivery_id: z.string(),
  datasource: z.string(),
  platform: Platform.optional(),
  repo: z.string().optional(),
  ref: z.string().optional(),
  commit: z.string().optional(),
  source: EventSource,
  dry_run: z.boolean(),
  /** a control action (resync): the control-plane token's name that asked for it */
  requested_by: z.string().optional(),
  at: z.string(),
});
export type IngestReport = z.infer<typeof IngestReport>;

/** ETL processed the event: the files it read and the scopes whose sinks will report. */
export const EtlReport = z.object({
  component: z.literal("etl"),
  task_id: z.string(),
  outcome: z.enum(["emitted", "failed", "no_match", "superseded", "retrying"]),
  message: z.string(),
  /** outcome failed or retrying: the catalogue code of why */
  code: ErrorCodeField.optional(),
  env: z.string().optional(),
  commit: z.string(),
  files: z.array(FileReport),
  /** scope keys (see scopeKey) emitted; each scope's datasource is the sink that reports on it */
  scopes: z.array(z.string()),
  warnings: z.array(z.string()),
  at: z.string(),
});
export type EtlReport = z.infer<typeof EtlReport>;

/** A sink applied (or failed to apply) one scope of a task. */
export const SinkReport = z.object({
  component: z.literal("sink"),
  sink: z.string(),
  task_id: z.string(),
  scope: z.string(),
  /** retrying: the store is down; the apply waits for it (a later report of the scope replaces this one) */
  outcome: z.enum(["applied", "failed", "retrying"]),
  set: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  pruned: z.number().int().nonnegative(),
  rolled_back: z.boolean(),
  duration_ms: z.number().nonnegative(),
  commit: z.string(),
  error: z.string().optional(),
  /** outcome failed: the catalogue code of why */
  code: ErrorCodeField.optional(),
  /** in `repair` mode: the keys whose stored value had drifted from the desired one */
  repaired: z.array(z.string()).optional(),
  warnings: z.array(z.string()),
  at: z.string(),
});
export type SinkReport = z.infer<typeof SinkReport>;

/**
 * A control action that starts no task of its own (a dry-run, a replay, a prune of orphaned scopes): who did it and to what, for
 * the audit trail. Resyncs are tasks; their IngestReport carries `requested_by`.
 */
export const ControlReport = z.object({
  component: z.literal("control"),
  /** the audit record's own id */
  task_id: z.string(),
  action: z.enum(["dry-run", "replay", "prune-orphans"]),
  /** the control-plane token's name, or `cli:<user>@<host>` for the CLI's direct replays */
  requested_by: z.string(),
  datasource: z.string(),
  detail: z.string().optional(),
  at: z.string(),
});
export type ControlReport = z.infer<typeof ControlReport>;

export const StatusReport = z.discriminatedUnion("component", [IngestReport, EtlReport, SinkReport, ControlReport]);
export type StatusReport = z.infer<typeof StatusReport>;

/**
 * Key of a `status` record: `<task id>/<component>`. A sink reports once per scope, so its component
 * is `sink:<name>@<scope key>`: with one key per sink, compaction would keep only the last scope.
 */
export function statusKey(report: StatusReport): string {
  switch (report.component) {
    case "ingest":
    case "etl":
    case "control":
      return `${report.task_id}/${report.component}`;
    case "sink":
      return `${report.task_id}/sink:${report.sink}@${report.scope}`;
  }
}

/** The task id part of a status key: records are partitioned by it, so a task's reports stay together. */
export function taskIdOfStatusKey(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? key : key.slice(0, slash);
}

/** The ingest report of an accepted event: the task exists, PENDING. */
export const ingestReport = {
  /** a webhook, normalized: what it is about is known from the start */
  webhook(event: WebhookEvent): IngestReport {
    return {
      component: "ingest",
      task_id: event.task_id,
      delivery_id: event.delivery_id,
      datasource: event.datasource,
      platform: event.platform,
      repo: event.repo.full_name,
      ref: event.ref,
      commit: event.after,
      source: event.source,
      dry_run: event.dry_run,
      at: event.received_at,
    };
  },
  /** a resync of a datasource */
  resync(event: ResyncEvent): IngestReport {
    return {
      component: "ingest",
      task_id: event.task_id,
      delivery_id: "",
      datasource: event.datasource,
      source: event.source,
      dry_run: false,
      ...(event.requested_by ? { requested_by: event.requested_by } : {}),
      at: event.received_at,
    };
  },
};

type EtlFields = Pick<EtlReport, "files" | "scopes" | "env">;

/**
 * The ETL reports of one event, one method per outcome; `warnings` collects what every outcome carries.
 */
export function etlReport(taskId: string, commit: string, at = new Date().toISOString()) {
  const warnings: string[] = [];
  const make = (
    outcome: EtlReport["outcome"],
    message: string,
    fields: Partial<EtlFields> & { code?: PipelineErrorCode },
  ) => {
    const { files = [], scopes = [], env, code } = fields;
    const report: EtlReport = {
      component: "etl",
      task_id: taskId,
      outcome,
      message,
      commit,
      files,
      scopes,
      warnings,
      at,
    };
    if (code !== undefined) report.code = code;
    if (env !== undefined) report.env = env;
    return report;
  };
  return {
    warnings,
    emitted: (message: string, fields: Partial<EtlFields> = {}) => make("emitted", message, fields),
    noMatch: (message: string, fields: Partial<EtlFields> = {}) => make("no_match", message, fields),
    superseded: (message: string) => make("superseded", message, {}),
    /** the event fails its task: `code` says why, `files` which file did */
    failed: (code: PipelineErrorCode, message: string, files: FileReport[] = []) =>
      make("failed", message, { code, files }),
    /** a transient failure: the event is retried later */
    retrying: (code: PipelineErrorCode, message: string) => make("retrying", message, { code }),
  };
}

/** The sink reports of one scope of a task. */
export function sinkReport(fields: { sink: string; taskId: string; scope: Scope | string; commit: string }) {
  const scope = typeof fields.scope === "string" ? fields.scope : scopeKey(fields.scope);
  const base = { component: "sink" as const, sink: fields.sink, task_id: fields.taskId, scope, commit: fields.commit };
  return {
    scope,
    applied(
      counts: { set: number; unchanged: number; pruned: number },
      extra: { warnings?: string[]; durationMs: number; repaired?: string[] },
    ): SinkReport {
      return {
        ...base,
        outcome: "applied",
        ...counts,
        rolled_back: false,
        duration_ms: extra.durationMs,
        ...(extra.repaired === undefined ? {} : { repaired: extra.repaired }),
        warnings: extra.warnings ?? [],
        at: new Date().toISOString(),
      };
    },
    /**
     * Nothing of the apply stayed: `rolledBack` says whether an attempt had begun writing (and was
     * undone) or the scope failed before anything was tried. A sink error without a code of its own
     * is SINK_UNAVAILABLE.
     */
    failed(err: Error, extra: { durationMs: number; rolledBack?: boolean }): SinkReport {
      return {
        ...base,
        outcome: "failed",
        set: 0,
        unchanged: 0,
        pruned: 0,
        rolled_back: extra.rolledBack ?? true,
        duration_ms: extra.durationMs,
        error: err.message,
        code: errorCode(err, "SINK_UNAVAILABLE"),
        warnings: [],
        at: new Date().toISOString(),
      };
    },
    /** the store is down and the apply waits for it: what the task shows meanwhile */
    retrying(failed: SinkReport): SinkReport {
      return { ...failed, outcome: "retrying", at: new Date().toISOString() };
    },
  };
}
