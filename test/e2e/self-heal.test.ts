import { randomUUID } from "node:crypto";
import type { TaskDocument } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A Redis pipeline whose one rule (app.yaml → `dest`) has `schedule` (self_heal, refetch_interval). */
function scheduledPipeline(name: string, dest: string, schedule: Record<string, unknown>) {
  const ctx = {} as { repo: GitRepo; pipeline: Pipeline; redis: Redis };
  beforeAll(async () => {
    ctx.repo = await GitRepo.create(name);
    ctx.redis = new Redis({ port: TEST_REDIS_PORT });
    ctx.pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: ctx.repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          rules: [
            {
              platform: "github",
              prune: true,
              datasource: "redis",
              file_name: "app.yaml",
              destination_template: dest,
              ...schedule,
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await ctx.pipeline?.stop();
    ctx.redis?.disconnect();
    await ctx.repo?.cleanup();
  });
  return ctx;
}

describe("self-heal", () => {
  const dest = `heal-${randomUUID().slice(0, 8)}`;
  const ctx = scheduledPipeline("acme/heal", dest, { self_heal: true, reconcile_interval: "1s" });

  it("writes a drifted key back without a push, reports it, and leaves keys outside its manifest alone", async () => {
    const commit = await ctx.repo.commit({ "app.yaml": "a: 1\nb: 2\n" });
    const res = await ctx.pipeline.post("redis", githubRequest(githubPushPayload(ctx.repo, commit)));
    expect((await ctx.pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");

    await ctx.redis.hset(dest, "a", "tampered", "theirs", "kept");
    await waitFor(async () => (await ctx.redis.hget(dest, "a")) === "1", {
      timeoutMs: 30_000,
      what: "the drift repaired",
    });
    expect(await ctx.redis.hgetall(dest)).toMatchObject({ a: "1", b: "2", theirs: "kept" });

    const repair = await waitFor(
      async () => {
        const list = (await (await fetch(`${ctx.pipeline.url}/v1/tasks?datasource=redis&limit=100`)).json()) as {
          tasks: TaskDocument[];
        };
        return list.tasks.find((t) => t.sinks.redis?.scopes.some((s) => s.repaired?.includes("a")));
      },
      { what: "the self-heal task that repaired a" },
    );
    expect(repair.state).toBe("SUCCEEDED");
    expect(repair.sinks.redis?.scopes[0]?.repaired).toEqual(["a"]);
    const metrics = await (await fetch(`${ctx.pipeline.url}/metrics`)).text();
    expect(metrics).toMatch(/varstream_drift_repaired_keys_total\{sink="redis"\} [1-9]/);
  });
});

describe("refetch_interval", () => {
  const dest = `refetch-${randomUUID().slice(0, 8)}`;
  const ctx = scheduledPipeline("acme/refetch", dest, { refetch_interval: "1s" });

  it("syncs a push whose webhook never came, and emits nothing while every scope is at its tip", async () => {
    const commit = await ctx.repo.commit({ "app.yaml": "a: 1\nb: 2\n" });
    const res = await ctx.pipeline.post("redis", githubRequest(githubPushPayload(ctx.repo, commit)));
    expect((await ctx.pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");
    expect(await ctx.redis.hgetall(dest)).toEqual({ a: "1", b: "2" });

    // Pushed, but its webhook is lost: the next refetch reads the branch tip and syncs it, pruning b.
    await ctx.repo.commit({ "app.yaml": "a: 2\n" });
    await waitFor(async () => (await ctx.redis.hget(dest, "a")) === "2", {
      timeoutMs: 30_000,
      what: "the missed push synced",
    });
    expect(await ctx.redis.hgetall(dest)).toEqual({ a: "2" });
    const tasks = async () =>
      (
        (await (await fetch(`${ctx.pipeline.url}/v1/tasks?datasource=redis&limit=100`)).json()) as {
          tasks: TaskDocument[];
        }
      ).tasks;
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
