import { randomUUID } from "node:crypto";
import type { Scope } from "@varstream/shared";
import { desiredOf } from "@varstream/testkit";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { applyDesired } from "../apply.ts";
import { connectSink } from "../registry.ts";
import { testDeps as deps, keySetOf as keySet, retryOnce as options } from "../testing.ts";

const desired = desiredOf;

describe("postgres sink against a real PostgreSQL", () => {
  const PG_PORT = Number(process.env.PG_PORT ?? 35432);
  const table = `t_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const pool = new pg.Pool({ host: "127.0.0.1", port: PG_PORT, user: "postgres", database: "postgres" });
  afterAll(() => pool.end());

  it("keeps rows as its README says: jsonb values with their types, scope and commit", async () => {
    const sink = await connectSink(
      "postgres",
      "postgres",
      { host: "127.0.0.1", port: PG_PORT, database: "postgres", user: "postgres", ssl: false, table },
      deps,
    );
    const scope: Scope = { datasource: "postgres", destination: "prod/app", repo: "acme/c", file: "app.yaml" };
    await applyDesired(
      sink,
      desired(keySet(scope, "t9", { port: 8080, debug: false, name: "web", none: null })),
      options,
    );
    const rows = await pool.query(
      `SELECT key, value, scope, commit FROM ${table} WHERE destination = 'prod/app' ORDER BY key`,
    );
    expect(rows.rows).toEqual([
      { key: "debug", value: false, scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
      { key: "name", value: "web", scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
      { key: "none", value: null, scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
      { key: "port", value: 8080, scope: "postgres|prod/app|acme/c:app.yaml", commit: "commit-t9" },
    ]);
    const manifest = await pool.query(`SELECT manifest->>'task_id' AS task FROM ${table}_manifests WHERE scope = $1`, [
      "postgres|prod/app|acme/c:app.yaml",
    ]);
    expect(manifest.rows).toEqual([{ task: "t9" }]);
    await sink.close();
  });

  it("a server that is down fails the apply cleanly, and nothing is half-written", async () => {
    const sink = await connectSink(
      "postgres",
      "postgres",
      { host: "127.0.0.1", port: 1, database: "postgres", user: "postgres", ssl: false, table },
      deps,
    );
    const scope: Scope = { datasource: "postgres", destination: "down", repo: "acme/c", file: "x.yaml" };
    const report = await applyDesired(sink, desired(keySet(scope, "t1", { a: 1 })), options);
    expect(report).toMatchObject({ outcome: "failed", rolled_back: true });
    await sink.close();
  });
});
