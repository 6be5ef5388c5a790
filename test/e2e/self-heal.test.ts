import { randomUUID } from "node:crypto";
import type { TaskDocument } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("self-heal", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `heal-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/heal");
    redis = new Redis({ port: TEST_REDIS_PORT });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          rules: [
            {
              platform: "github",
              datasource: "redis",
              file_name: "app.yaml",
              destination_template: dest,
              self_heal: true,
              reconcile_interval: "1s",
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

  it("writes a drifted key back without a push, reports it, and leaves keys outside its manifest alone", async () => {
    const commit = await repo.commit({ "app.yaml": "a: 1\nb: 2\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)));
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");

    await redis.hset(dest, "a", "tampered", "theirs", "kept");
    await waitFor(async () => (await redis.hget(dest, "a")) === "1", { timeoutMs: 30_000, what: "the drift repaired" });
    expect(await redis.hgetall(dest)).toMatchObject({ a: "1", b: "2", theirs: "kept" });

    const repair = await waitFor(
      async () => {
        const list = (await (await fetch(`${pipeline.url}/v1/tasks?datasource=redis&limit=100`)).json()) as {
          tasks: TaskDocument[];
        };
        return list.tasks.find((t) => t.sinks.redis?.scopes.some((s) => s.repaired?.includes("a")));
      },
      { what: "the self-heal task that repaired a" },
    );
    expect(repair.state).toBe("SUCCEEDED");
    expect(repair.sinks.redis?.scopes[0]?.repaired).toEqual(["a"]);
    const metrics = await (await fetch(`${pipeline.url}/metrics`)).text();
    expect(metrics).toMatch(/varstream_drift_repaired_keys_total\{sink="redis"\} [1-9]/);
  });
});
