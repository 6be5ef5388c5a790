import { status } from "@grpc/grpc-js";
import { PIPELINE_ERRORS, type PipelineErrorCode, type TaskDocument } from "@varstream/shared";

/** varTrack's TaskState names; PARTIAL has none and goes out as FAILED with a message. */
const STATES: Record<TaskDocument["state"], string> = {
  PENDING: "TASK_STATE_PENDING",
  RUNNING: "TASK_STATE_RUNNING",
  SUCCEEDED: "TASK_STATE_SUCCEEDED",
  FAILED: "TASK_STATE_FAILED",
  PARTIAL: "TASK_STATE_FAILED",
};

function timestamp(iso: string | undefined) {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** A task document as varTrack's `WebhookTask`. */
export function toWebhookTask(doc: TaskDocument) {
  const failed = doc.state === "FAILED" || doc.state === "PARTIAL";
  const message = doc.state === "PARTIAL" ? `partial: ${doc.message}` : doc.message;
  return {
    task_id: doc.task_id,
    state: STATES[doc.state],
    message,
    created_at: timestamp(doc.created_at),
    finished_at: timestamp(doc.finished_at),
    duration:
      doc.duration_ms === undefined
        ? null
        : { seconds: String(Math.floor(doc.duration_ms / 1000)), nanos: (doc.duration_ms % 1000) * 1_000_000 },
    error: failed ? failure(doc.code, message) : null,
  };
}

/**
 * A failed task's `error`, a google.rpc.Status: the catalogue code first in its message (as in the task
 * document's `code`), and a gRPC code by kind — UNAVAILABLE for what a retry cures (a store or git
 * host away), INTERNAL for an unexpected error, INVALID_ARGUMENT for what the commit itself got wrong,
 * UNKNOWN without a code.
 */
function failure(code: PipelineErrorCode | undefined, message: string) {
  const grpcCode =
    code === undefined
      ? status.UNKNOWN
      : code === "INTERNAL"
        ? status.INTERNAL
        : PIPELINE_ERRORS[code].retry
          ? status.UNAVAILABLE
          : status.INVALID_ARGUMENT;
  return { code: grpcCode, message: code === undefined ? message : `${code}: ${message}`, details: [] };
}
