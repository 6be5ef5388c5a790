import { randomUUID } from "node:crypto";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("late events never roll a scope back", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `order-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/order");
    redis = new Redis({ port: TEST_REDIS_PORT });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          rules: [{ platform: "github", datasource: "redis", file_name: "app.yaml", destination_template: dest }],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await repo?.cleanup();
  });

  it("reports an event for an ancestor of the scope's last commit as superseded, also after an ETL restart", async () => {
    const c1 = await repo.commit({ "app.yaml": "version: 1\n" });
    const c2 = await repo.commit({ "app.yaml": "version: 2\n" });
    for (const c of [c1, c2]) {
      const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, c)));
      expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");
    }
    expect(await redis.hget(dest, "version")).toBe("2");

    const late = await pipeline.post("redis", githubRequest(githubPushPayload(repo, c1)));
    const task = await pipeline.waitTask(late.body.task_id);
    expect(task).toMatchObject({ state: "SUCCEEDED" });
    expect(task.message).toMatch(/^superseded/);
    expect(task.sinks).toEqual({});
    expect(await redis.hget(dest, "version")).toBe("2");

    // A new ETL instance learns the scopes' last commits from the compacted topic.
    await pipeline.etl?.close();
    await pipeline.startEtl();
    const again = await pipeline.post("redis", githubRequest(githubPushPayload(repo, c1)));
    expect((await pipeline.waitTask(again.body.task_id)).message).toMatch(/^superseded/);

    const c3 = await repo.commit({ "app.yaml": "version: 3\n" });
    const next = await pipeline.post("redis", githubRequest(githubPushPayload(repo, c3)));
    expect((await pipeline.waitTask(next.body.task_id)).state).toBe("SUCCEEDED");
    expect(await redis.hget(dest, "version")).toBe("3");
  });
});
