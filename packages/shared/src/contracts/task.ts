import { z } from "zod";
import type { PipelineErrorCode } from "../errors/pipeline.ts";
import { EventSource, Platform } from "./event.ts";
import { parseScopeKey } from "./keyset.ts";
import { ErrorCodeField, type EtlReport, FileReport, type IngestReport, type SinkReport } from "./status.ts";

export const TaskState = z.enum(["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "PARTIAL"]);
export type TaskState = z.infer<typeof TaskState>;

export const ScopeResult = z.object({
  scope: z.string(),
  set: z.number(),
  unchanged: z.number(),
  pruned: z.number(),
  rolled_back: z.boolean(),
  error: z.string().optional(),
  code: ErrorCodeField.optional(),
  repaired: z.array(z.string()).optional(),
  /** the store is down: the apply is waiting for it (error and code say why) */
  retrying: z.boolean().optional(),
});

export const SinkState = z.enum(["pending", "applied", "failed"]);

/** The task document served by `GET /v1/tasks/{id}`. */
export const TaskDocument = z.object({
  task_id: z.string(),
  state: TaskState,
  message: z.string(),
  /** FAILED, PARTIAL or retrying: the catalogue code of the (first) failure */
  code: ErrorCodeField.optional(),
  datasource: z.string().optional(),
  platform: Platform.optional(),
  repo: z.string().optional(),
  ref: z.string().optional(),
  commit: z.string().optional(),
  env: z.string().optional(),
  source: EventSource.optional(),
  dry_run: z.boolean(),
  created_at: z.string().optional(),
  updated_at: z.string(),
  finished_at: z.string().optional(),
  duration_ms: z.number().optional(),
  etl: z.object({ files: z.array(FileReport) }),
  sinks: z.record(z.string(), z.object({ state: SinkState, scopes: z.array(ScopeResult) })),
  warnings: z.array(z.string()),
});
export type TaskDocument = z.infer<typeof TaskDocument>;

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(["SUCCEEDED", "FAILED", "PARTIAL"]);

export interface TaskReports {
  ingest?: IngestReport;
  etl?: EtlReport;
  /** keyed by `<sink>@<scope>` */
  sinks: Map<string, SinkReport>;
}

/** Folds a task's status reports into its document. Pure: the task store and the tests share it. */
export function reduceTask(taskId: string, reports: TaskReports): TaskDocument {
  const { ingest, etl } = reports;
  const times = [ingest?.at, etl?.at, ...[...reports.sinks.values()].map((s) => s.at)].filter(
    (t): t is string => t !== undefined,
  );
  const updatedAt = times.sort().at(-1) ?? new Date(0).toISOString();
  const sinks: TaskDocument["sinks"] = {};
  const warnings = [...(etl?.warnings ?? [])];
  let state: TaskState = "PENDING";
  let message = "accepted";
  let code: PipelineErrorCode | undefined;

  if (etl) {
    for (const scope of etl.scopes) {
      const sink = parseScopeKey(scope).datasource;
      sinks[sink] ??= { state: "pending", scopes: [] };
    }
    for (const report of reports.sinks.values()) {
      sinks[report.sink] ??= { state: "pending", scopes: [] };
      const entry = sinks[report.sink]!;
      entry.scopes.push({
        scope: report.scope,
        set: report.set,
        unchanged: report.unchanged,
        pruned: report.pruned,
        rolled_back: report.rolled_back,
        ...(report.error === undefined ? {} : { error: report.error }),
        ...(report.code === undefined ? {} : { code: report.code }),
        ...(report.repaired === undefined ? {} : { repaired: report.repaired }),
        ...(report.outcome === "retrying" ? { retrying: true } : {}),
      });
      warnings.push(...report.warnings);
    }
    const expected = new Set(etl.scopes);
    for (const [name, entry] of Object.entries(sinks)) {
      const mine = etl.scopes.filter((s) => parseScopeKey(s).datasource === name);
      const reported = mine.filter((s) => {
        const r = reports.sinks.get(`${name}@${s}`);
        return r !== undefined && r.outcome !== "retrying";
      });
      const failed = entry.scopes.some((s) => s.error !== undefined && !s.retrying && expected.has(s.scope));
      entry.state = failed ? "failed" : reported.length === mine.length ? "applied" : "pending";
      entry.scopes.sort((a, b) => a.scope.localeCompare(b.scope));
    }
    if (etl.outcome === "retrying") {
      state = "RUNNING";
      message = etl.message;
      code = etl.code;
    } else if (etl.outcome === "failed") {
      state = "FAILED";
      message = etl.message;
      code = etl.code ?? etl.files.find((f) => f.code)?.code;
    } else if (etl.outcome === "no_match" || etl.outcome === "superseded" || etl.scopes.length === 0) {
      state = "SUCCEEDED";
      message = etl.message;
    } else {
      const all = Object.values(sinks);
      const pending = all.filter((s) => s.state === "pending").length;
      const failed = Object.entries(sinks).filter(([, s]) => s.state === "failed");
      if (pending > 0) {
        state = "RUNNING";
        message = `applying: ${all.length - pending}/${all.length} sinks done`;
        const waiting = Object.entries(sinks).flatMap(([name, s]) =>
          s.scopes.filter((x) => x.retrying).map((x) => ({ name, x })),
        );
        if (waiting.length > 0) {
          message += `; sink ${waiting[0]!.name} is waiting for its store: ${waiting[0]!.x.error}`;
          code = waiting[0]!.x.code;
        }
      } else if (failed.length === 0) {
        state = "SUCCEEDED";
        message = etl.message;
      } else {
        state = failed.length === all.length ? "FAILED" : "PARTIAL";
        code = failed.flatMap(([, s]) => s.scopes.filter((x) => x.error)).find((x) => x.code)?.code;
        message = failed
          .map(([name, s]) => `sink ${name} failed: ${s.scopes.find((x) => x.error)?.error ?? "error"}`)
          .join("; ");
      }
    }
  }

  const createdAt = ingest?.at;
  const finished = TERMINAL_STATES.has(state);
  return {
    task_id: taskId,
    state,
    message,
    ...(code === undefined ? {} : { code }),
    ...(ingest
      ? {
          datasource: ingest.datasource,
          source: ingest.source,
          ...(ingest.platform === undefined ? {} : { platform: ingest.platform }),
          ...(ingest.repo === undefined ? {} : { repo: ingest.repo }),
          ...(ingest.ref === undefined ? {} : { ref: ingest.ref }),
        }
      : {}),
    ...(etl?.commit || ingest?.commit ? { commit: etl?.commit ?? ingest?.commit } : {}),
    ...(etl?.env === undefined ? {} : { env: etl.env }),
    dry_run: ingest?.dry_run ?? false,
    ...(createdAt === undefined ? {} : { created_at: createdAt }),
    updated_at: updatedAt,
    ...(finished ? { finished_at: updatedAt } : {}),
    ...(finished && createdAt !== undefined ? { duration_ms: Date.parse(updatedAt) - Date.parse(createdAt) } : {}),
    etl: { files: etl?.files ?? [] },
    sinks,
    warnings,
  };
}
