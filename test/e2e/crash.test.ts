import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");

describe("kill -9 of the sink-writer between the data write and the offset commit", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  let bundlePath: string;
  const dest = `crash-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/crash");
    redis = new Redis({ port: TEST_REDIS_PORT });
    const bundle = {
      bundle: {
        platforms: [{ github: { endpoint: repo.endpoint } }],
        datasources: [{ redis: { port: TEST_REDIS_PORT } }],
        rules: [{ platform: "github", datasource: "redis", file_name: "app.yaml", destination_template: dest }],
      },
    };
    bundlePath = join(await mkdtemp(join(tmpdir(), "varstream-crash-")), "bundle.json");
    await writeFile(bundlePath, JSON.stringify(bundle));
    pipeline = await Pipeline.start({ bundle });
    await pipeline.stopSinkWriter();
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await repo?.cleanup();
  });

  it("after restart: the same state, and the task's counts are those of the one real apply", async () => {
    const commit = await repo.commit({ "app.yaml": "a: 1\nb: 2\nc: 3\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)));
    await waitFor(async () => (await pipeline.task(res.body.task_id))?.state === "RUNNING", { what: "ETL done" });

    // A sink-writer process that dies (SIGKILL) right after writing, before it reports or commits.
    const child = spawn(process.execPath, [join(ROOT, "services/sink-writer/src/main.ts")], {
      env: {
        ...process.env,
        CONFIG_PATH: bundlePath,
        KAFKA_BROKERS: pipeline.settings.kafkaBrokers.join(","),
        TOPIC_PREFIX: pipeline.settings.topicPrefix,
        TOPIC_PARTITIONS: String(pipeline.settings.topicPartitions),
        LOG_LEVEL: "warn",
        VARSTREAM_FAULT: "crash-after-apply",
      },
      stdio: "ignore",
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, sig) => resolve(sig)),
    );
    expect(signal).toBe("SIGKILL");
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "2", c: "3" });
    expect((await pipeline.task(res.body.task_id))?.state).toBe("RUNNING");

    await pipeline.startSinkWriter();
    const task = await pipeline.waitTask(res.body.task_id);
    expect(task.state).toBe("SUCCEEDED");
    expect(task.sinks.redis?.scopes).toEqual([expect.objectContaining({ set: 3, unchanged: 0, pruned: 0 })]);
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "2", c: "3" });
  }, 90_000);
});
