import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBundle } from "@varstream/bundle";
import { main, rebuildSink, replayGroup } from "@varstream/cli";
import { createKafka, createLogger, topicNames } from "@varstream/shared";
import {
  GitRepo,
  githubPushPayload,
  githubRequest,
  Pipeline,
  readCommitted,
  TEST_REDIS_PORT,
  waitFor,
} from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Databases of their own on the shared test Redis: these tests flush them.
const DB = 3;
const SECOND_DB = 4;

describe("replay and the varstream command", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  let second: Redis;
  let expected: Record<string, Record<string, string>>;
  const bundleDoc = (db: number) => ({
    bundle: {
      platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
      datasources: [{ redis: { port: TEST_REDIS_PORT, db } }],
      rules: [
        { platform: "github", datasource: "redis", file_patterns: ["*.yaml"], destination_template: "cfg:{file_stem}" },
      ],
    },
  });
  const snapshot = async (client: Redis) => ({
    "cfg:app": await client.hgetall("cfg:app"),
    "cfg:db": await client.hgetall("cfg:db"),
  });

  beforeAll(async () => {
    repo = await GitRepo.create("acme/replay");
    redis = new Redis({ port: TEST_REDIS_PORT, db: DB });
    second = new Redis({ port: TEST_REDIS_PORT, db: SECOND_DB });
    await redis.flushdb();
    await second.flushdb();
    pipeline = await Pipeline.start({ bundle: bundleDoc(DB) });
    const c1 = await repo.commit({ "app.yaml": "name: web\nport: 80\n", "db.yaml": "host: db\npool: 5\n" });
    const c2 = await repo.commit({ "app.yaml": "name: web\nport: 8080\n" });
    for (const c of [c1, c2]) {
      const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, c)));
      expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");
    }
    expected = await snapshot(redis);
    expect(expected["cfg:app"]).toEqual({ name: "web", port: "8080" });
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    second?.disconnect();
    await repo?.cleanup();
  });

  it("refuses to move the offsets of a group whose writer is running", async () => {
    await expect(replayGroup({ settings: pipeline.settings, bundle: pipeline.bundle, sink: "redis" })).rejects.toThrow(
      /active member/,
    );
  });

  it("restores a Redis that lost everything: flush, replay, every scope is back exactly", async () => {
    await pipeline.stopSinkWriter();
    await redis.flushdb();
    const reset = await replayGroup({ settings: pipeline.settings, bundle: pipeline.bundle, sink: "redis" });
    expect(reset.groupId).toBe(`${pipeline.settings.topicPrefix}sink.redis`);
    await pipeline.startSinkWriter();
    await waitFor(async () => JSON.stringify(await snapshot(redis)) === JSON.stringify(expected), {
      what: "the rebuilt Redis",
    });
    expect(await snapshot(redis)).toEqual(expected);
  });

  it("--new-sink rebuilds into a second, empty Redis", async () => {
    const result = await rebuildSink({
      settings: pipeline.settings,
      bundle: decodeBundle(bundleDoc(SECOND_DB)),
      sink: "redis",
    });
    expect(result).toEqual({ scopes: 2, keys: 4, failed: [] });
    expect(await snapshot(second)).toEqual(expected);
  });

  it("records each replay, with who ran it, on the status topic", async () => {
    const kafka = createKafka(pipeline.settings, createLogger("t", "silent"));
    const audit = (await readCommitted(kafka, topicNames(pipeline.settings.topicPrefix).status))
      .map((r) => JSON.parse(r.value ?? "{}") as Record<string, string>)
      .filter((r) => r.component === "control");
    // One per replay, on the partitions of their own ids: in no particular order.
    expect(audit).toHaveLength(2);
    expect(
      audit.every((r) => r.action === "replay" && r.datasource === "redis" && r.requested_by?.startsWith("cli:")),
    ).toBe(true);
    expect(audit.map((r) => r.detail)).toEqual(
      expect.arrayContaining([expect.stringContaining("reset to the earliest"), expect.stringContaining("--new-sink")]),
    );
  });

  it("the command: --help, validate, task get/list, sync --watch, topics", async () => {
    const lines: string[] = [];
    const run = async (...argv: string[]) => {
      lines.length = 0;
      return main(argv, (l) => lines.push(l));
    };
    expect(await run("--help")).toBe(0);
    expect(lines.join("\n")).toMatch(/validate <file>[\s\S]*replay --sink/);
    for (const command of ["validate", "dry-run", "sync", "task", "replay", "topics"]) {
      expect(await run(command, "--help")).toBe(0);
      expect(lines.join("\n")).toContain(`varstream ${command}`);
    }

    const dir = await mkdtemp(join(tmpdir(), "cli-"));
    await writeFile(join(dir, "app.yaml"), "port: 70000\nname: x\n");
    await writeFile(join(dir, "app.cue"), "#Config: {port: int & <65536, name: string, env: string}");
    expect(await run("validate", join(dir, "app.yaml"))).toBe(0);
    expect(await run("validate", join(dir, "app.yaml"), "--schema", join(dir, "app.cue"))).toBe(1);
    expect(lines.join("\n")).toMatch(/port: invalid value 70000[\s\S]*env: required field is missing/);
    await writeFile(join(dir, "bad.json"), "{");
    expect(await run("validate", join(dir, "bad.json"), "--json")).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false });

    process.env.VARSTREAM_URL = pipeline.url;
    expect(await run("sync", "redis", "--watch")).toBe(0);
    expect(lines.at(-1)).toMatch(/^SUCCEEDED /);
    const taskId = lines.at(-1)!.split(/\s+/)[1]!;
    expect(await run("task", "get", taskId)).toBe(0);
    expect(lines[0]).toContain("sink redis: applied");
    expect(await run("task", "list", "--datasource", "redis", "--json")).toBe(0);
    expect((JSON.parse(lines[0]!) as { tasks: unknown[] }).tasks.length).toBeGreaterThanOrEqual(3);
    expect(await run("task", "get", "no-such-task")).toBe(1);
    expect(lines[0]).toMatch(/TASK_NOT_FOUND/);

    process.env.KAFKA_BROKERS = pipeline.settings.kafkaBrokers.join(",");
    process.env.TOPIC_PREFIX = pipeline.settings.topicPrefix;
    process.env.CONFIG_PATH = join(dir, "missing.yaml");
    expect(await run("topics", "--json")).toBe(0);
    const topics = JSON.parse(lines[0]!) as { topics: { topic: string }[]; lag: { group: string; lag: number }[] };
    expect(topics.topics.map((t) => t.topic)).toContain(`${pipeline.settings.topicPrefix}keysets`);
    expect(topics.lag.find((l) => l.group.endsWith(".etl"))?.lag).toBe(0);
  });
});
