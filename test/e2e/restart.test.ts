import { randomUUID } from "node:crypto";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const yaml = (port: number, keys = 20) =>
  `${Array.from({ length: keys - 1 }, (_, i) => `key${i}: value-${i}`).join("\n")}\nport: ${port}\n`;

describe("restarting services between commits", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `restart-${randomUUID().slice(0, 8)}`;

  const push = async (content: string) => {
    const commit = await repo.commit({ "svc.yaml": content });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)));
    expect(res.status).toBe(202);
    return res.body.task_id;
  };

  beforeAll(async () => {
    repo = await GitRepo.create("acme/restart");
    redis = new Redis({ port: TEST_REDIS_PORT });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          rules: [{ platform: "github", datasource: "redis", file_name: "svc.yaml", destination_template: dest }],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await repo?.cleanup();
  });

  it("applies the change made while the sink-writer was down exactly once, and loses none", async () => {
    const first = await push(yaml(1));
    expect((await pipeline.waitTask(first)).sinks.redis?.scopes[0]).toMatchObject({ set: 20, unchanged: 0 });

    await pipeline.stopSinkWriter();
    const second = await push(yaml(2));
    const running = await waitFor(async () => {
      const doc = await pipeline.task(second);
      return doc?.state === "RUNNING" ? doc : undefined;
    });
    expect(running.sinks.redis?.state).toBe("pending");
    expect(await redis.hget(dest, "port")).toBe("1");

    await pipeline.startSinkWriter();
    const done = await pipeline.waitTask(second);
    expect(done.state).toBe("SUCCEEDED");
    expect(done.sinks.redis?.scopes).toEqual([
      expect.objectContaining({ set: 1, unchanged: 19, pruned: 0, rolled_back: false }),
    ]);
    expect(await redis.hget(dest, "port")).toBe("2");
    // The first task's report was not rewritten by a second apply.
    expect((await pipeline.task(first))?.sinks.redis?.scopes[0]).toMatchObject({ set: 20, unchanged: 0 });
  });

  it("keeps every task id handed out across an ingest restart", async () => {
    const ids = [await push(yaml(3)), await push(yaml(4))];
    await pipeline.ingest?.close();
    await pipeline.startIngest();
    for (const id of ids) expect((await pipeline.waitTask(id)).state).toBe("SUCCEEDED");
    expect(await redis.hget(dest, "port")).toBe("4");
  });
});
