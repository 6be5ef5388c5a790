import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@varstream/cli";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * A bundle change that leaves stored scopes behind: the rule's destination_template changes, so the
 * keys at the old destination are produced by no rule any more.
 */
describe("orphaned scopes after a bundle change", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  let bundlePath: string;
  const oldDest = `orphan-old-${randomUUID().slice(0, 8)}`;
  const newDest = `orphan-new-${randomUUID().slice(0, 8)}`;
  const bundle = (destination: string) => ({
    bundle: {
      platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
      datasources: [{ redis: { port: TEST_REDIS_PORT } }],
      rules: [{ platform: "github", datasource: "redis", file_name: "app.yaml", destination_template: destination }],
    },
  });
  const push = async (content: string) => {
    const commit = await repo.commit({ "app.yaml": content });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(repo, commit)));
    return pipeline.waitTask(res.body.task_id);
  };
  const lines: string[] = [];
  const cli = async (...argv: string[]) => {
    lines.length = 0;
    return main(argv, (l) => lines.push(...l.split("\n")));
  };

  beforeAll(async () => {
    repo = await GitRepo.create("acme/orphans");
    redis = new Redis({ port: TEST_REDIS_PORT });
    pipeline = await Pipeline.start({ bundle: bundle(oldDest) });
    expect((await push("a: 1\nb: 2\n")).state).toBe("SUCCEEDED");
    const prefix = pipeline.settings.topicPrefix;
    await pipeline.stop();
    // The same topics, the rule now writing elsewhere.
    pipeline = await Pipeline.start({ bundle: bundle(newDest), settings: { topicPrefix: prefix } });
    bundlePath = join(await mkdtemp(join(tmpdir(), "varstream-orphans-")), "bundle.json");
    await writeFile(bundlePath, JSON.stringify(bundle(newDest)));
    process.env.KAFKA_BROKERS = pipeline.settings.kafkaBrokers.join(",");
    process.env.TOPIC_PREFIX = prefix;
    process.env.CONFIG_PATH = bundlePath;
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await repo?.cleanup();
  });

  it("reports them at start and in plan, never resurrects them, and prune-orphans removes only their keys", async () => {
    expect((await push("a: 1\nb: 3\n")).state).toBe("SUCCEEDED");
    expect(await redis.hgetall(newDest)).toEqual({ a: "1", b: "3" });
    expect(await redis.hgetall(oldDest)).toEqual({ a: "1", b: "2" });
    const orphan = `redis|${oldDest}|acme/orphans:app.yaml`;

    // The ETL found it at start.
    await waitFor(
      async () =>
        /varstream_orphaned_scopes\{datasource="redis"\} 1\b/.test(
          await (await fetch(`${pipeline.url}/metrics`)).text(),
        ),
      { what: "the orphan counted at start" },
    );
    expect(await cli("plan")).toBe(0);
    expect(lines).toEqual([`orphaned ${orphan} (env default): 2 key(s)`, "1 orphaned scope(s)"]);

    // A resync repairs the live scope and leaves the orphan alone, saying so.
    await redis.hdel(oldDest, "a");
    await redis.hset(newDest, "a", "drifted");
    const sync = await fetch(`${pipeline.url}/v1/sync/redis`, { method: "POST" });
    const resynced = await pipeline.waitTask(((await sync.json()) as { task_id: string }).task_id);
    expect(resynced.state).toBe("SUCCEEDED");
    expect(resynced.warnings).toEqual([
      "1 orphaned scope(s) left out (no rule produces them any more): varstream prune-orphans --datasource redis",
    ]);
    expect(await redis.hgetall(newDest)).toEqual({ a: "1", b: "3" });
    expect(await redis.hgetall(oldDest)).toEqual({ b: "2" });

    // Dry-run by default; --apply tombstones it, and the sink writer prunes its manifest's keys only.
    await redis.hset(oldDest, "theirs", "kept");
    expect(await cli("prune-orphans", "--datasource", "redis")).toBe(0);
    expect(lines.at(-1)).toBe("1 orphaned scope(s); --apply removes their keys");
    expect(await redis.hgetall(oldDest)).toEqual({ b: "2", theirs: "kept" });
    expect(await cli("prune-orphans", "--datasource", "redis", "--apply", "--json")).toBe(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({ applied: true, orphans: [{ scope: orphan, keys: 2 }] });
    await waitFor(async () => (await redis.hget(oldDest, "b")) === null, { what: "the orphan's keys pruned" });
    expect(await redis.hgetall(oldDest)).toEqual({ theirs: "kept" });
    expect(await redis.hgetall(newDest)).toEqual({ a: "1", b: "3" });
    expect(await cli("plan", "--datasource", "redis")).toBe(0);
    expect(lines).toEqual(["no orphaned scopes"]);
    expect(await cli("prune-orphans", "--help")).toBe(0);
    expect(lines.join("\n")).toContain("varstream prune-orphans --datasource D [--apply]");
  });
});
