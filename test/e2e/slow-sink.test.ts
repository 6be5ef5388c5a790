import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flatten } from "@varstream/shared";
import { CutProxy, GitRepo, githubPushPayload, githubRequest, Pipeline, waitFor } from "@varstream/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const PG_PORT = Number(process.env.PG_PORT ?? 35432);

/** A slow or broken sink never delays another sink. */
describe("a sink whose server hangs", () => {
  let repo: GitRepo;
  let out: string;
  let pipeline: Pipeline;
  let proxy: CutProxy;
  const direct = new pg.Pool({ host: "127.0.0.1", port: PG_PORT, user: "postgres", database: "postgres" });
  const table = `slow_${randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const dest = `slow-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/slow");
    out = await mkdtemp(join(tmpdir(), "varstream-slow-"));
    proxy = await CutProxy.start({ port: PG_PORT });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: out } }, { postgres: { port: proxy.port, table } }],
          rules: [
            {
              platform: "github",
              datasource: ["file", "postgres"],
              file_name: "app.yaml",
              destination_template: dest,
            },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    proxy?.resume();
    await pipeline?.stop();
    await proxy?.close();
    await direct.end();
    await repo?.cleanup();
  });

  it("keeps the other sink applying, and catches up once the server answers", async () => {
    const first = await repo.commit({ "app.yaml": "a: 1\n" });
    const warm = await pipeline.post("file", githubRequest(githubPushPayload(repo, first)));
    expect((await pipeline.waitTask(warm.body.task_id)).state).toBe("SUCCEEDED");

    proxy.stall();
    const second = await repo.commit({ "app.yaml": "a: 2\nb: 2\n" });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, second)));
    // The file sink applies while PostgreSQL hangs: the task is RUNNING with one sink done.
    const midway = await waitFor(
      async () => {
        const task = await pipeline.task(res.body.task_id);
        return task?.sinks.file?.state === "applied" ? task : undefined;
      },
      { what: "the file sink applying while postgres hangs" },
    );
    expect(midway.state).toBe("RUNNING");
    expect(midway.sinks.postgres?.state).toBe("pending");
    expect(flatten(JSON.parse(await readFile(join(out, `${dest}.json`), "utf8")))).toEqual({ a: 2, b: 2 });

    proxy.resume();
    const done = await pipeline.waitTask(res.body.task_id, 60_000);
    expect(done.state).toBe("SUCCEEDED");
    const rows = await direct.query(`SELECT key, value FROM ${table} WHERE destination = $1 ORDER BY key`, [dest]);
    expect(rows.rows).toEqual([
      { key: "a", value: 2 },
      { key: "b", value: 2 },
    ]);
  });
});
