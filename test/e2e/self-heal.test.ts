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

describe("refetch_interval", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `refetch-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/refetch");
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
              refetch_interval: "1s",
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

  it("syncs a push whose webhook never came, and emits nothing while every scope is at its tip", async () => {
    const commit = await repo.commit({ "app.yaml": "a: 1\nb: 2\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)));
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "2" });

    // Pushed, but its webhook is lost: the next refetch reads the branch tip and syncs it, pruning b.
    await repo.commit({ "app.yaml": "a: 2\n" });
    await waitFor(async () => (await redis.hget(dest, "a")) === "2", {
      timeoutMs: 30_000,
      what: "the missed push synced",
    });
    expect(await redis.hgetall(dest)).toEqual({ a: "2" });
    const tasks = async () =>
      ((await (await fetch(`${pipeline.url}/v1/tasks?datasource=redis&limit=100`)).json()) as { tasks: TaskDocument[] })
        .tasks;
    const caughtUp = (await tasks()).find((t) => t.sinks.redis?.scopes.some((s) => s.pruned === 1));
    expect(caughtUp).toMatchObject({ state: "SUCCEEDED", message: expect.stringContaining("resync") });
    // At the tip, a refetch emits no key set: its task ends with nothing to do.
    const idle = await waitFor(
      async () => (await tasks()).find((t) => t.message?.includes("every scope is at its branch tip")),
      { what: "a refetch with nothing to catch up" },
    );
    expect(idle.state).toBe("SUCCEEDED");
    expect(Object.keys(idle.sinks)).toEqual([]);
  });
});
