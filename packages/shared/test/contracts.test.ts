import { describe, expect, it } from "vitest";
import {
  canonicalText,
  type EtlReport,
  type IngestReport,
  parseScopeKey,
  reduceTask,
  type SinkReport,
  scopeKey,
  statusKey,
  taskIdOfStatusKey,
} from "../src/index.ts";

describe("scope keys", () => {
  it("round-trip, with ':' allowed in the file path", () => {
    const scope = { datasource: "redis-cache", destination: "prod/app", repo: "acme/config", file: "a:b/app.yaml" };
    expect(scopeKey(scope)).toBe("redis-cache|prod/app|acme/config:a:b/app.yaml");
    expect(parseScopeKey(scopeKey(scope))).toEqual(scope);
    expect(() => parseScopeKey("nope")).toThrow(/not a scope key/);
  });

  it("status keys carry the task id first, for partitioning", () => {
    expect(taskIdOfStatusKey("abc/sink:redis@x|y|z:f")).toBe("abc");
  });
});

describe("canonical text", () => {
  it("renders typed values for string sinks", () => {
    expect([true, 42, 1.5, null, "x", {}, []].map((v) => canonicalText(v as never))).toEqual([
      "true",
      "42",
      "1.5",
      "",
      "x",
      "{}",
      "[]",
    ]);
  });
});

describe("reduceTask", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const ingest: IngestReport = {
    component: "ingest",
    task_id: "t",
    delivery_id: "d",
    datasource: "redis",
    platform: "github",
    repo: "acme/c",
    ref: "refs/heads/main",
    commit: "c1",
    source: "http",
    dry_run: false,
    at: at(0),
  };
  const scopes = ["redis|d|acme/c:a.yaml", "file|d|acme/c:a.yaml"];
  const etl: EtlReport = {
    component: "etl",
    task_id: "t",
    outcome: "emitted",
    message: "ok",
    env: "prod",
    commit: "c1",
    files: [],
    scopes,
    warnings: [],
    at: at(1),
  };
  const sink = (name: string, scope: string, error?: string): SinkReport => ({
    component: "sink",
    sink: name,
    task_id: "t",
    scope,
    outcome: error ? "failed" : "applied",
    set: error ? 0 : 3,
    unchanged: 1,
    pruned: 0,
    rolled_back: Boolean(error),
    duration_ms: 1,
    commit: "c1",
    warnings: [],
    ...(error ? { error } : {}),
    at: at(2),
  });

  it("moves PENDING → RUNNING → SUCCEEDED with per-sink counts", () => {
    expect(reduceTask("t", { ingest, sinks: new Map() }).state).toBe("PENDING");
    const sinks = new Map<string, SinkReport>();
    expect(reduceTask("t", { ingest, etl, sinks }).state).toBe("RUNNING");
    sinks.set(`redis@${scopes[0]}`, sink("redis", scopes[0]!));
    expect(reduceTask("t", { ingest, etl, sinks }).state).toBe("RUNNING");
    sinks.set(`file@${scopes[1]}`, sink("file", scopes[1]!));
    const doc = reduceTask("t", { ingest, etl, sinks });
    expect(doc).toMatchObject({ state: "SUCCEEDED", finished_at: at(2), duration_ms: 2000, env: "prod" });
    expect(doc.sinks.redis).toEqual({
      state: "applied",
      scopes: [{ scope: scopes[0], set: 3, unchanged: 1, pruned: 0, rolled_back: false }],
    });
  });

  it("ends PARTIAL when some sinks failed and FAILED when all did", () => {
    const partial = new Map([
      [`redis@${scopes[0]}`, sink("redis", scopes[0]!, "down")],
      [`file@${scopes[1]}`, sink("file", scopes[1]!)],
    ]);
    expect(reduceTask("t", { ingest, etl, sinks: partial })).toMatchObject({
      state: "PARTIAL",
      message: "sink redis failed: down",
    });
    const all = new Map([
      [`redis@${scopes[0]}`, sink("redis", scopes[0]!, "down")],
      [`file@${scopes[1]}`, sink("file", scopes[1]!, "disk full")],
    ]);
    expect(reduceTask("t", { ingest, etl, sinks: all }).state).toBe("FAILED");
  });

  it("finishes at once when ETL failed or no rule matched", () => {
    const failed = reduceTask("t", {
      ingest,
      etl: { ...etl, outcome: "failed", message: "bad yaml", scopes: [] },
      sinks: new Map(),
    });
    expect(failed).toMatchObject({ state: "FAILED", message: "bad yaml" });
    const none = reduceTask("t", {
      ingest,
      etl: { ...etl, outcome: "no_match", message: "no matching rule", scopes: [] },
      sinks: new Map(),
    });
    expect(none).toMatchObject({ state: "SUCCEEDED", message: "no matching rule" });
  });

  it("builds status keys per component, sinks per scope", () => {
    expect(statusKey(ingest)).toBe("t/ingest");
    expect(statusKey(sink("redis", scopes[0]!))).toBe(`t/sink:redis@${scopes[0]}`);
  });
});
