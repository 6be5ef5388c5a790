import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flatten } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("one task, several sinks", () => {
  let repo: GitRepo;
  let out: string;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `multi-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/multi");
    out = await mkdtemp(join(tmpdir(), "varstream-multi-"));
    redis = new Redis({ port: TEST_REDIS_PORT });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [
            { file: { path: out } },
            { redis: { port: TEST_REDIS_PORT } },
            // nothing listens on port 1: this sink is down
            { redis: { tag: "down", port: 1 } },
          ],
          rules: [
            { platform: "github", datasource: ["file", "redis"], file_name: "app.yaml", destination_template: dest },
            {
              platform: "github",
              datasource: ["redis", "redis-down"],
              file_name: "other.yaml",
              destination_template: dest,
            },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await repo?.cleanup();
  });

  it("reports exact counts per sink when every sink applied", async () => {
    const commit = await repo.commit({ "app.yaml": "a: 1\nb: two\n" });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    const task = await pipeline.waitTask(res.body.task_id);
    expect(task.state).toBe("SUCCEEDED");
    expect(task.etl.files).toHaveLength(1);
    expect(task.sinks.file?.scopes).toEqual([expect.objectContaining({ set: 2, unchanged: 0, pruned: 0 })]);
    expect(task.sinks.redis?.scopes).toEqual([expect.objectContaining({ set: 2, unchanged: 0, pruned: 0 })]);
    expect(flatten(JSON.parse(await readFile(join(out, `${dest}.json`), "utf8")))).toEqual({ a: 1, b: "two" });
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "two" });
  });

  it("keeps the task RUNNING, saying which sink waits for its store and why, while the others apply", async () => {
    const commit = await repo.commit({ "other.yaml": "c: 3\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)));
    const task = await waitFor(
      async () => {
        const doc = await pipeline.task(res.body.task_id);
        return doc?.sinks["redis-down"]?.scopes[0]?.retrying ? doc : undefined;
      },
      { what: "the down sink's wait to be reported" },
    );
    expect(task.state).toBe("RUNNING");
    expect(task.sinks.redis?.state).toBe("applied");
    expect(task.sinks["redis-down"]).toMatchObject({
      state: "pending",
      scopes: [{ retrying: true, code: "SINK_UNAVAILABLE" }],
    });
    expect(task.message).toMatch(/sink redis-down is waiting for its store: redis 127.0.0.1:1 is not reachable/);
    expect(task.code).toBe("SINK_UNAVAILABLE");
    expect(await redis.hget(dest, "c")).toBe("3");
  });
});
