import * as grpc from "@grpc/grpc-js";
import { RedisScenario } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("resync repairs drift from the compacted desired state", () => {
  let s: RedisScenario;
  let repo: RedisScenario["repo"];
  let pipeline: RedisScenario["pipeline"];
  let redis: RedisScenario["redis"];
  let dest: string;

  beforeAll(async () => {
    s = await RedisScenario.start("drift", (d) => ({
      file_patterns: ["*.yaml"],
      destination_template: `${d}:{file_stem}`,
    }));
    ({ repo, pipeline, redis, dest } = s);
    const taskId = await s.push({ "app.yaml": "a: 1\nb: two\nc: true\n", "other.yaml": "x: 1\n" });
    expect((await pipeline.waitTask(taskId)).state).toBe("SUCCEEDED");
  });

  afterAll(() => s?.stop());

  it("POST /v1/sync/{datasource}: the drift is gone and the task says which keys were repaired", async () => {
    await redis.hset(`${dest}:app`, "a", "tampered");
    await redis.hdel(`${dest}:app`, "b");
    const res = await fetch(`${pipeline.url}/v1/sync/redis`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ env: "default", reason: "drift detected" }),
    });
    expect(res.status).toBe(202);
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await pipeline.waitTask(task_id);
    expect(task).toMatchObject({ state: "SUCCEEDED", source: "http", datasource: "redis" });
    const scopes = Object.fromEntries((task.sinks.redis?.scopes ?? []).map((s) => [s.scope.split(":").at(-1), s]));
    expect(scopes["app.yaml"]).toMatchObject({ set: 3, repaired: ["a", "b"] });
    expect(scopes["other.yaml"]).toMatchObject({ set: 1, repaired: [] });
    expect(await redis.hgetall(`${dest}:app`)).toEqual({ a: "1", b: "two", c: "true" });
  });

  it("vartrack.v1.Watcher/SyncDatasource {datasource=1, env=4} → {task_id=1, status=2}", async () => {
    await redis.hset(`${dest}:other`, "x", "9");
    const client = new grpc.Client(`127.0.0.1:${pipeline.ingest!.grpcPort}`, grpc.credentials.createInsecure());
    const request = Buffer.concat([
      Buffer.from([0x0a, 5]),
      Buffer.from("redis"),
      Buffer.from([0x22, 7]),
      Buffer.from("default"),
    ]);
    const answer = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        "/vartrack.v1.Watcher/SyncDatasource",
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
    client.close();
    expect(answer[0]).toBe(0x0a); // field 1, length-delimited
    const taskId = answer.subarray(2, 2 + answer[1]!).toString("utf8");
    expect(answer[2 + answer[1]!]).toBe(0x12); // field 2: status
    const task = await pipeline.waitTask(taskId);
    expect(task).toMatchObject({ state: "SUCCEEDED", source: "grpc" });
    expect(await redis.hget(`${dest}:other`, "x")).toBe("1");
  });

  it("varstream.v1.Control/TriggerSync takes the same request; Watcher/Ping answers", async () => {
    const client = new grpc.Client(`127.0.0.1:${pipeline.ingest!.grpcPort}`, grpc.credentials.createInsecure());
    const call = (path: string, request: Buffer) =>
      new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      );
    // datasource=1 "redis", reason=5 "watcher"
    const request = Buffer.concat([
      Buffer.from([0x0a, 5]),
      Buffer.from("redis"),
      Buffer.from([0x2a, 7]),
      Buffer.from("watcher"),
    ]);
    const answer = await call("/varstream.v1.Control/TriggerSync", request);
    const taskId = answer.subarray(2, 2 + answer[1]!).toString("utf8");
    expect((await pipeline.waitTask(taskId)).state).toBe("SUCCEEDED");
    expect((await call("/vartrack.v1.Watcher/Ping", Buffer.alloc(0))).length).toBe(0);
    await expect(
      call("/vartrack.v1.Watcher/SyncDatasource", Buffer.from([0x0a, 4, 0x6e, 0x6f, 0x70, 0x65])),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    client.close();
  });

  it("refetch: true re-reads the files at the branch tips, catching a change whose webhook was lost", async () => {
    await repo.commit({ "app.yaml": "a: 1\nb: two\nc: false\nd: new\n" }); // no webhook for this commit
    const res = await fetch(`${pipeline.url}/v1/sync/redis`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refetch: true }),
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await pipeline.waitTask(task_id);
    expect(task.state).toBe("SUCCEEDED");
    expect(task.etl.files.map((f) => f.path).sort()).toEqual(["app.yaml", "other.yaml"]);
    expect(await redis.hgetall(`${dest}:app`)).toEqual({ a: "1", b: "two", c: "false", d: "new" });
    const scope = task.sinks.redis?.scopes.find((s) => s.scope.endsWith(":app.yaml"));
    expect(scope?.repaired?.sort()).toEqual(["c", "d"]);
  });

  it("lists tasks newest first with a cursor", async () => {
    const page1 = (await fetch(`${pipeline.url}/v1/tasks?datasource=redis&limit=2`).then((r) => r.json())) as {
      tasks: { task_id: string; created_at: string }[];
      next_cursor?: string;
    };
    expect(page1.tasks).toHaveLength(2);
    expect(page1.tasks[0]!.created_at >= page1.tasks[1]!.created_at).toBe(true);
    const page2 = (await fetch(`${pipeline.url}/v1/tasks?datasource=redis&limit=2&cursor=${page1.next_cursor}`).then(
      (r) => r.json(),
    )) as { tasks: { task_id: string }[] };
    expect(page2.tasks.length).toBeGreaterThan(0);
    expect(page2.tasks.map((t) => t.task_id)).not.toContain(page1.tasks[0]!.task_id);
    const bad = await fetch(`${pipeline.url}/v1/tasks?state=NOPE`);
    expect(bad.status).toBe(400);
  });

  it("filters by env, platform and tenant", async () => {
    const sync = async (body: Record<string, string>) => {
      const res = await fetch(`${pipeline.url}/v1/sync/redis`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return pipeline.waitTask(((await res.json()) as { task_id: string }).task_id);
    };
    expect((await sync({ platform: "gitlab" })).message).toBe("resync: no scope to repair");
    expect((await sync({ tenant: "other" })).message).toBe("resync: no scope to repair");
    expect((await sync({ env: "production" })).message).toBe("resync: no scope to repair");
    expect((await sync({ platform: "github", tenant: "default", env: "default" })).message).toBe(
      "resync: 2 scope(s) in repair mode",
    );
  });

  it("refuses an unknown datasource", async () => {
    const res = await fetch(`${pipeline.url}/v1/sync/nope`, { method: "POST" });
    expect(res.status).toBe(404);
  });
});
