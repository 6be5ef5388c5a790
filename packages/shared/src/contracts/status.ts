import { z } from "zod";
import { EventSource, Platform } from "./event.ts";

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
  at: z.string(),
});
export type IngestReport = z.infer<typeof IngestReport>;

/** ETL processed the event: the files it read and the scopes whose sinks will report. */
export const EtlReport = z.object({
  component: z.literal("etl"),
  task_id: z.string(),
  outcome: z.enum(["emitted", "failed", "no_match", "superseded", "retrying"]),
  message: z.string(),
  env: z.string().optional(),
  commit: z.string(),
  files: z.array(FileReport),
  /** scope keys (see scopeKey) emitted; each scope's datasource is the sink that reports on it */
  scopes: z.array(z.string()),
  warnings: z.array(z.string()),
  at: z.string(),
});
export type EtlReport = z.infer<typeof EtlReport>;

/** A sink applied (or failed to apply) one scope of a task (SPEC §5.2 step 5). */
export const SinkReport = z.object({
  component: z.literal("sink"),
  sink: z.string(),
  task_id: z.string(),
  scope: z.string(),
  outcome: z.enum(["applied", "failed"]),
  set: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  pruned: z.number().int().nonnegative(),
  rolled_back: z.boolean(),
  duration_ms: z.number().nonnegative(),
  commit: z.string(),
  error: z.string().optional(),
  /** in `repair` mode: the keys whose stored value had drifted from the desired one */
  repaired: z.array(z.string()).optional(),
  warnings: z.array(z.string()),
  at: z.string(),
});
export type SinkReport = z.infer<typeof SinkReport>;

export const StatusReport = z.discriminatedUnion("component", [IngestReport, EtlReport, SinkReport]);
export type StatusReport = z.infer<typeof StatusReport>;

/**
 * Key of a `status` record: `<task id>/<component>`. A sink reports once per scope, so its component
 * is `sink:<name>@<scope key>`: with one key per sink, compaction would keep only the last scope.
 */
export function statusKey(report: StatusReport): string {
  switch (report.component) {
    case "ingest":
    case "etl":
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
