import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flatten } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SECRET = "webhook-secret";

const V1 = `
service:
  name: checkout
  port: 8080
  debug: false
  ratio: 1.5
servers:
  - host: a.internal
    weight: 3
  - host: b.internal
    weight: 1
features: {}
owner: null
"dotted.key": kept apart
`;

const V2 = `
service:
  name: checkout
  port: 9090
  debug: false
  ratio: 1.5
servers:
  - host: a.internal
    weight: 3
  - host: b.internal
    weight: 1
features: {}
"dotted.key": kept apart
`;

const FLAT_V1 = {
  "dotted\\.key": "kept apart",
  features: {},
  owner: null,
  "servers.0.host": "a.internal",
  "servers.0.weight": 3,
  "servers.1.host": "b.internal",
  "servers.1.weight": 1,
  "service.debug": false,
  "service.name": "checkout",
  "service.port": 8080,
  "service.ratio": 1.5,
};

const asRedis = (flat: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(flat).map(([k, v]) => [k, v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)]),
  );

describe("the spine: webhook → Kafka → ETL → Kafka → sinks → task status", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let outDir: string;
  let redis: Redis;
  let hash: string;
  const push = async (datasource: string, files: Record<string, string | null>, delivery?: string) => {
    const commit = await repo.commit(files);
    const req = githubRequest(githubPushPayload(repo, commit), { secret: SECRET, ...(delivery ? { delivery } : {}) });
    return { commit, req, res: await pipeline.post(datasource, req) };
  };
  const postBoth = async (files: Record<string, string | null>) => {
    const commit = await repo.commit(files);
    const results = [];
    for (const ds of ["file", "redis"]) {
      const res = await pipeline.post(ds, githubRequest(githubPushPayload(repo, commit), { secret: SECRET }));
      expect(res.status).toBe(202);
      results.push(await pipeline.waitTask(res.body.task_id));
    }
    return { commit, fileTask: results[0]!, redisTask: results[1]! };
  };
  const fileSink = async () => flatten(JSON.parse(await readFile(join(outDir, "production", "app.json"), "utf8")));

  beforeAll(async () => {
    repo = await GitRepo.create("acme/app-config");
    outDir = await mkdtemp(join(tmpdir(), "varstream-file-sink-"));
    redis = new Redis({ port: TEST_REDIS_PORT, lazyConnect: true });
    await redis.connect();
    hash = `spine-${randomUUID().slice(0, 8)}`;
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, secret: SECRET } }],
          datasources: [{ file: { path: outDir, format: "json" } }, { redis: { port: TEST_REDIS_PORT } }],
          rules: [
            {
              platform: "github",
              prune: true,
              datasource: "file",
              repositories: ["acme/*"],
              file_name: "app.yaml",
              branch_map: { main: "production" },
            },
            {
              platform: "github",
              prune: true,
              datasource: "redis",
              repositories: ["acme/**"],
              file_name: "app.yaml",
              branch_map: { main: "production" },
              destination_template: `${hash}:{env}:{file_stem}`,
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

  it("applies a committed YAML file to Redis and the file sink, exactly flattened", async () => {
    const { fileTask, redisTask } = await postBoth({ "app.yaml": V1 });
    for (const task of [fileTask, redisTask]) {
      expect(task.state).toBe("SUCCEEDED");
      expect(task.env).toBe("production");
      expect(task.etl.files).toEqual([
        { path: "app.yaml", format: "yaml", keys: 11, validation: { status: "skipped", errors: [] } },
      ]);
    }
    expect(redisTask.sinks.redis?.scopes[0]).toMatchObject({ set: 11, unchanged: 0, pruned: 0, rolled_back: false });
    expect(await fileSink()).toEqual(FLAT_V1);
    expect(await redis.hgetall(`${hash}:production:app`)).toEqual(asRedis(FLAT_V1));
  });

  it("updates a changed value, prunes a removed key and reports the rest unchanged", async () => {
    const { redisTask, fileTask } = await postBoth({ "app.yaml": V2 });
    const expected = { ...FLAT_V1, "service.port": 9090 } as Record<string, unknown>;
    delete expected.owner;
    for (const [task, sink] of [
      [redisTask, "redis"],
      [fileTask, "file"],
    ] as const) {
      expect(task.state).toBe("SUCCEEDED");
      expect(task.sinks[sink]?.scopes[0]).toMatchObject({ set: 1, unchanged: 9, pruned: 1 });
    }
    expect(await fileSink()).toEqual(expected);
    expect(await redis.hgetall(`${hash}:production:app`)).toEqual(asRedis(expected));
  });

  it("removes every key of a deleted file's scope and nothing written by someone else", async () => {
    await redis.hset(`${hash}:production:app`, "someone.else", "keep me");
    const { redisTask } = await postBoth({ "app.yaml": null });
    expect(redisTask.state).toBe("SUCCEEDED");
    expect(redisTask.sinks.redis?.scopes[0]).toMatchObject({ set: 0, pruned: 10 });
    expect(await redis.hgetall(`${hash}:production:app`)).toEqual({ "someone.else": "keep me" });
  });

  it("answers a redelivery with the same task id and publishes nothing more", async () => {
    const delivery = randomUUID();
    const first = await push("redis", { "app.yaml": V1 }, delivery);
    expect(first.res.status).toBe(202);
    const again = await pipeline.post("redis", first.req);
    expect(again.status).toBe(202);
    expect(again.body.task_id).toBe(first.res.body.task_id);
    const task = await pipeline.waitTask(first.res.body.task_id);
    expect(task.state).toBe("SUCCEEDED");
    const list = (await fetch(`${pipeline.url}/v1/tasks?datasource=redis&limit=1000`).then((r) => r.json())) as {
      tasks: { commit: string }[];
    };
    const forCommit = list.tasks.filter((t: { commit: string }) => t.commit === first.commit.after);
    expect(forCommit).toHaveLength(1);
  });

  it("fails a task for a commit that does not exist, and writes nothing", async () => {
    const before = await redis.hgetall(`${hash}:production:app`);
    const commit = {
      before: "0".repeat(40),
      after: "a1b2c3d4".repeat(5),
      added: [],
      modified: ["app.yaml"],
      removed: [],
    };
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit), { secret: SECRET }));
    expect(res.status).toBe(202);
    const task = await pipeline.waitTask(res.body.task_id);
    expect(task.state).toBe("FAILED");
    expect(task.message).toMatch(/not found/);
    expect(await redis.hgetall(`${hash}:production:app`)).toEqual(before);
  });

  it("fails a task for invalid YAML with its position, and writes nothing", async () => {
    const before = await redis.hgetall(`${hash}:production:app`);
    const { res } = await push("redis", { "app.yaml": "service:\n  name: [unclosed\n  port: 1\n" });
    const task = await pipeline.waitTask(res.body.task_id);
    expect(task.state).toBe("FAILED");
    expect(task.etl.files[0]?.error).toMatch(/yaml: .* at line \d+, column \d+/);
    expect(await redis.hgetall(`${hash}:production:app`)).toEqual(before);
  });

  it("rejects bad requests with stable error codes", async () => {
    const commit = await repo.commit({ "other.txt": "x" });
    const payload = githubPushPayload(repo, commit);
    const unknown = await pipeline.post("nope", githubRequest(payload, { secret: SECRET }));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "UNKNOWN_DATASOURCE" } } });
    const badSig = await pipeline.post("redis", githubRequest(payload, { secret: "wrong" }));
    expect(badSig).toMatchObject({ status: 401, body: { error: { code: "SIGNATURE_INVALID" } } });
    const badJson = await pipeline.post("redis", githubRequest("{not json", { secret: SECRET }));
    expect(badJson).toMatchObject({ status: 400, body: { error: { code: "BAD_JSON" } } });
    const noEvent = await fetch(`${pipeline.url}/v1/webhooks/redis`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(noEvent.status).toBe(400);
    expect(((await noEvent.json()) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_EVENT");
    const wrongType = await fetch(`${pipeline.url}/v1/webhooks/redis`, {
      method: "POST",
      headers: { "content-type": "text/plain", "x-github-event": "push" },
      body: "hello",
    });
    expect(wrongType.status).toBe(415);
    expect(((await wrongType.json()) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const ping = await pipeline.post("redis", githubRequest({ zen: "hi" }, { secret: SECRET, event: "ping" }));
    expect(ping).toMatchObject({ status: 200, body: { message: "ignored" } });
  });
});
