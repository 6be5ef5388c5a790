import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka, createLogger, flatten, topicNames } from "@varstream/shared";
import type { SinkKind } from "@varstream/sinks";
import { loadFixtures, type OpenStore } from "@varstream/sinks/testing";
import {
  CutProxy,
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
              prune: true,
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

  it("leaves nothing half-written, keeps the other sink applying, and converges when the server is back, with no new push", async () => {
    expect((await push("a: 1\nb: 1\n")).state).toBe("SUCCEEDED");
    expect(await redis.hgetall(dest)).toEqual({ a: "1", b: "1" });

    await server.stop(); // saves its data as it goes
    await waitFor(async () => (await redis.ping().catch(() => "down")) === "down", { what: "redis down" });
    const commit = await repo.commit({ "app.yaml": "a: 2\nc: 2\n" });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    // The file sink applies at once; the Redis scope waits for its store, the task with it.
    const during = await waitFor(
      async () => {
        const task = await pipeline.task(res.body.task_id);
        return task?.sinks.file?.state === "applied" ? task : undefined;
      },
      { what: "the file sink applied during the outage" },
    );
    expect(during.state).toBe("RUNNING");
    expect(flatten(JSON.parse(await readFile(join(out, `${dest}.json`), "utf8")))).toEqual({ a: 2, c: 2 });
    // Still waiting a few retries later (backoff 50 ms doubling), not dead-lettered, nothing committed past it.
    await waitFor(async () => (await pipeline.task(res.body.task_id))?.state === "RUNNING", { what: "still running" });
    const kafka = createKafka(pipeline.settings, createLogger("test", "silent"));
    const dlq = topicNames(pipeline.settings.topicPrefix).dlq("sink.redis-own");
    expect(await readCommitted(kafka, dlq)).toEqual([]);

    await server.start();
    await waitFor(async () => (await redis.ping().catch(() => "")) === "PONG", { what: "redis back" });
    // No push, no resync: the waiting key set is applied as soon as the store answers.
    const after = await pipeline.waitTask(res.body.task_id, 60_000);
    expect(after.state).toBe("SUCCEEDED");
    expect(await redis.hgetall(dest)).toEqual({ a: "2", c: "2" });
    expect(after.sinks["redis-own"]?.scopes[0]).toMatchObject({ set: 2, pruned: 1 });
    expect(await readCommitted(kafka, dlq)).toEqual([]);
  });
});

/** Every sink that talks to a server, cut off at once through its test proxy, then back. */
describe("an outage of every sink's server", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  const stores = new Map<SinkKind, { store: OpenStore; proxy: CutProxy }>();
  const dest = `outage-all-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/outage-all");
    for (const [kind, fixture] of await loadFixtures()) {
      if (!fixture.outage) continue;
      let proxy: CutProxy | undefined;
      const store = await fixture.open({
        via: async (port) => {
          proxy = await CutProxy.start({ port });
          return proxy.port;
        },
      });
      stores.set(kind, { store, proxy: proxy! });
    }
    const kinds = [...stores.keys()];
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: kinds.map((kind) => ({ [kind]: stores.get(kind)!.store.config })),
          rules: [
            { platform: "github", prune: true, datasource: kinds, file_name: "app.yaml", destination_template: dest },
          ],
        },
      },
      settings: { sinkMaxRetries: 1 },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    for (const { store, proxy } of stores.values()) {
      await proxy.close();
      await store.close();
    }
    await repo?.cleanup();
  });

  it("waits for each store without dead-lettering and converges on its own when they are back", async () => {
    const push = async (content: string) => {
      const commit = await repo.commit({ "app.yaml": content });
      return (await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)))).body.task_id;
    };
    expect((await pipeline.waitTask(await push("a: 1\nb: 1\n"), 60_000)).state).toBe("SUCCEEDED");
    expect(stores.size).toBeGreaterThanOrEqual(5);

    for (const { proxy } of stores.values()) proxy.down();
    const id = await push("a: 2\nc: 2\n");
    const waiting = await waitFor(
      async () => {
        const task = await pipeline.task(id);
        const all = Object.values(task?.sinks ?? {});
        return all.length === stores.size && all.every((s) => s.scopes.some((x) => x.retrying)) ? task : undefined;
      },
      { what: "every sink waiting for its store", timeoutMs: 30_000 },
    );
    expect(waiting).toMatchObject({ state: "RUNNING", code: "SINK_UNAVAILABLE" });
    const kafka = createKafka(pipeline.settings, createLogger("test", "silent"));
    const topics = topicNames(pipeline.settings.topicPrefix);

    for (const { proxy } of stores.values()) proxy.up();
    // No push, no resync.
    const after = await pipeline.waitTask(id, 90_000);
    expect(after.state).toBe("SUCCEEDED");
    for (const [kind, { store }] of stores) expect(await store.view.read(dest), kind).toEqual({ a: "2", c: "2" });
    for (const kind of stores.keys()) expect(await readCommitted(kafka, topics.dlq(`sink.${kind}`)), kind).toEqual([]);
  }, 180_000);
});
