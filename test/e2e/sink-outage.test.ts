import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka, createLogger, flatten, topicNames } from "@varstream/shared";
import {
  GitRepo,
  githubPushPayload,
  githubRequest,
  Pipeline,
  readCommitted,
  TestServer,
  waitFor,
} from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("a sink outage", () => {
  let repo: GitRepo;
  let out: string;
  let server: TestServer;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `outage-${randomUUID().slice(0, 8)}`;
  const push = async (content: string) => {
    const commit = await repo.commit({ "app.yaml": content });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    return pipeline.waitTask(res.body.task_id, 60_000);
  };

  beforeAll(async () => {
    repo = await GitRepo.create("acme/outage");
    out = await mkdtemp(join(tmpdir(), "varstream-outage-out-"));
    // A Redis of this test's own, so it can be stopped and started again.
    server = await TestServer.redis({ persist: true });
    redis = new Redis({ port: server.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    redis.on("error", () => undefined);
    await redis.connect();
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: out } }, { redis: { tag: "own", port: server.port } }],
          rules: [
            {
              platform: "github",
              datasource: ["file", "redis-own"],
              file_name: "app.yaml",
              destination_template: dest,
            },
          ],
        },
      },
      settings: { sinkMaxRetries: 1 },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await server?.stop();
    await repo?.cleanup();
  });

  it("leaves nothing half-written, keeps the other sink applying, and converges when the server is back", async () => {
    expect((await push("a: 1\nb: 1\n")).state).toBe("SUCCEEDED");
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "1" });

    await server.stop(); // saves its data as it goes
    await waitFor(async () => (await redis.ping().catch(() => "down")) === "down", { what: "redis down" });
    const during = await push("a: 2\nc: 2\n");
    expect(during.state).toBe("PARTIAL");
    expect(during.sinks.file?.state).toBe("applied");
    expect(during.sinks["redis-own"]).toMatchObject({ state: "failed", scopes: [{ rolled_back: true }] });
    expect(flatten(JSON.parse(await readFile(join(out, `${dest}.json`), "utf8")))).toEqual({ a: 2, c: 2 });
    // The failed scope's key set went to dlq.sink.redis-own, with the reason.
    const kafka = createKafka(pipeline.settings, createLogger("test", "silent"));
    const dlq = topicNames(pipeline.settings.topicPrefix).dlq("sink.redis-own");
    const dead = await waitFor(
      async () => {
        const records = await readCommitted(kafka, dlq);
        return records.length > 0
          ? records.map((r) => ({ taskId: (JSON.parse(r.value!) as { task_id: string }).task_id, headers: r.headers }))
          : undefined;
      },
      { what: "the failed key set in dlq.sink.redis-own" },
    );
    expect(dead[0]).toMatchObject({ taskId: during.task_id, headers: { "dlq-stage": "sink.redis-own" } });
    expect(dead[0]?.headers["dlq-error-message"]).toMatch(/is not reachable/);
    expect(dead[0]?.headers["dlq-error-code"]).toBe("SINK_UNAVAILABLE");

    await server.start();
    await waitFor(async () => (await redis.ping().catch(() => "")) === "PONG", { what: "redis back" });
    // What the failed apply left: the state before it, whole (data and manifest from the same apply).
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "1" });
    const after = await push("a: 3\nc: 3\n");
    expect(after.state).toBe("SUCCEEDED");
    expect(await redis.hgetall(dest)).toEqual({ a: "3", c: "3" });
    expect(after.sinks["redis-own"]?.scopes[0]).toMatchObject({ set: 2, pruned: 1 });
  });
});
