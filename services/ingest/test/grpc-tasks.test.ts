import type { TaskDocument } from "@varstream/shared";
import { describe, expect, it } from "vitest";
import { toWebhookTask } from "../src/grpc/tasks.ts";

const doc = (over: Partial<TaskDocument>): TaskDocument => ({
  task_id: "t",
  state: "SUCCEEDED",
  message: "ok",
  dry_run: false,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:01.500Z",
  finished_at: "2026-01-01T00:00:01.500Z",
  duration_ms: 1500,
  etl: { files: [] },
  sinks: {},
  warnings: [],
  ...over,
});

describe("GetWebhookTask mapping", () => {
  it("maps states onto varTrack's TaskState, PARTIAL as FAILED with a message, error as a google.rpc.Status", () => {
    expect(toWebhookTask(doc({}))).toMatchObject({
      state: "TASK_STATE_SUCCEEDED",
      created_at: { seconds: "1767225600", nanos: 0 },
      duration: { seconds: "1", nanos: 500_000_000 },
      error: null,
    });
    expect(toWebhookTask(doc({ state: "PARTIAL", message: "sink b failed: down" }))).toMatchObject({
      state: "TASK_STATE_FAILED",
      message: "partial: sink b failed: down",
      error: { code: 2, message: "partial: sink b failed: down" }, // UNKNOWN: no catalogue code
    });
    expect(toWebhookTask(doc({ state: "FAILED", code: "PARSE_ERROR", message: "a.yaml: yaml: bad" }))).toMatchObject({
      state: "TASK_STATE_FAILED",
      error: { code: 3, message: "PARSE_ERROR: a.yaml: yaml: bad" }, // INVALID_ARGUMENT
    });
    expect(toWebhookTask(doc({ state: "FAILED", code: "SINK_UNAVAILABLE", message: "down" })).error).toMatchObject({
      code: 14, // UNAVAILABLE: a retry cures it
    });
    expect(toWebhookTask(doc({ state: "RUNNING", finished_at: undefined, duration_ms: undefined }))).toMatchObject({
      state: "TASK_STATE_RUNNING",
      finished_at: null,
      duration: null,
    });
  });
});
