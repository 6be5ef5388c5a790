import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@varstream/cli";
import { createKafka, createLogger, type DryRunReport, topicNames } from "@varstream/shared";
import {
  GitRepo,
  githubPushPayload,
  githubRequest,
  Pipeline,
  readCommitted,
  TEST_REDIS_PORT,
} from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("dry-run: the exact diff, written nowhere", () => {
  let app: GitRepo;
  let schemas: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  const dest = `dry-${randomUUID().slice(0, 8)}`;

  const highWatermarks = async () => {
    const kafka = createKafka(pipeline.settings, createLogger("t", "silent"));
    const admin = kafka.admin();
    await admin.connect();
    const names = topicNames(pipeline.settings.topicPrefix);
    const out: Record<string, string> = {};
    // Nothing reaches webhooks or keysets; status gets only the dry-run's audit record (checked below).
    for (const topic of [names.webhooks, names.keysets]) {
      out[topic] = (await admin.fetchTopicOffsets(topic)).map((p) => p.high).join(",");
    }
    await admin.disconnect();
    return out;
  };

  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "varstream-dry-"));
    app = await GitRepo.create("acme/dry", root);
    schemas = await GitRepo.create("platform/schemas", root);
    await schemas.commit({
      "default.cue": "#Config: {db: {password: string @sensitive(), ...}, ...}",
      // A second file of the same destination whose own schema marks nothing.
      "other.cue": "#Config: {...}",
    });
    redis = new Redis({ port: TEST_REDIS_PORT });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: app.endpoint, insecure_skip_signature: true } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          schema_registry: { platform: "github", repo: "platform/schemas" },
          rules: [
            { platform: "github", prune: true, datasource: "redis", file_name: "app.yaml", destination_template: dest },
            {
              platform: "github",
              prune: true,
              datasource: "redis",
              file_name: "other.yaml",
              destination_template: dest,
            },
          ],
        },
      },
      settings: { schemaCacheDir: join(root, "schema-cache") },
    });
    const c1 = await app.commit({ "app.yaml": "port: 80\nname: web\nold: gone-soon\ndb:\n  password: first-pass\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(app, c1)));
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await app?.cleanup();
  });

  it("reports set (old → new), unchanged and pruned per sink and scope, masks @sensitive values, and writes nothing", async () => {
    const before = await redis.hgetall(dest);
    const marks = await highWatermarks();
    const c2 = await app.commit({ "app.yaml": "port: 8080\nname: web\nnew: here\ndb:\n  password: second-pass\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(app, c2)), "/dry-run");
    expect(res.status).toBe(200);
    const report = res.body as unknown as DryRunReport;
    expect(report.dry_run).toBe(true);
    expect(report.files).toEqual([
      expect.objectContaining({
        path: "app.yaml",
        env: "default",
        keys: 4,
        validation: { status: "passed", errors: [] },
      }),
    ]);
    const [scope] = report.sinks.redis!.scopes;
    expect(scope!.set.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: "db.password", old: "****", new: "****" },
      { key: "new", new: "here" },
      { key: "port", old: "80", new: "8080" },
    ]);
    expect(scope).toMatchObject({ unchanged: 1, pruned: ["old"] });
    expect(JSON.stringify(report)).not.toMatch(/first-pass|second-pass/);

    expect(await redis.hgetall(dest)).toEqual(before);
    expect(await highWatermarks()).toEqual(marks);
    const kafka = createKafka(pipeline.settings, createLogger("t", "silent"));
    const audit = (await readCommitted(kafka, topicNames(pipeline.settings.topicPrefix).status))
      .map((r) => JSON.parse(r.value ?? "{}") as { component?: string; action?: string; requested_by?: string })
      .filter((r) => r.component === "control");
    expect(audit).toEqual([
      expect.objectContaining({ action: "dry-run", requested_by: "anonymous", datasource: "redis" }),
    ]);
  });

  it("masks a value another file of the destination marked sensitive, as the store's manifest remembers", async () => {
    const c = await app.commit({ "other.yaml": "db:\n  password: third-pass\n" });
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(app, c)), "/dry-run");
    expect(res.status).toBe(200);
    const report = res.body as unknown as DryRunReport;
    const [scope] = report.sinks.redis!.scopes;
    expect(scope!.set).toEqual([{ key: "db.password", old: "****", new: "****" }]);
    expect(JSON.stringify(report)).not.toMatch(/first-pass|third-pass/);
  });

  it("the command prints the diff", async () => {
    const c3 = await app.commit({ "app.yaml": "port: 9090\nname: web\nold: gone-soon\ndb:\n  password: first-pass\n" });
    const dir = await mkdtemp(join(tmpdir(), "dry-cli-"));
    const payload = join(dir, "push.json");
    await writeFile(payload, JSON.stringify(githubPushPayload(app, c3)));
    process.env.VARSTREAM_URL = pipeline.url;
    const lines: string[] = [];
    // exit 1: a diff, for a CI gate
    expect(await main(["dry-run", "redis", "--payload", payload], (l) => lines.push(l))).toBe(1);
    expect(await main(["dry-run", "redis", "--payload", payload, "--exit-code"], () => {})).toBe(1);
    // a report only, for a step that must not fail on a diff
    expect(await main(["dry-run", "redis", "--payload", payload, "--no-exit-code"], () => {})).toBe(0);
    expect(lines.join("\n")).toContain("  ~ port: 80 → 9090");
    expect(lines.join("\n")).toContain("  = 3 unchanged");

    // the content the store already holds: exit 0
    const same = await app.commit({ "app.yaml": "port: 80\nname: web\nold: gone-soon\ndb:\n  password: first-pass\n" });
    await writeFile(payload, JSON.stringify(githubPushPayload(app, same)));
    const quiet: string[] = [];
    expect(await main(["dry-run", "redis", "--payload", payload], (l) => quiet.push(l))).toBe(0);
    expect(quiet.join("\n")).toContain("  = 4 unchanged");

    // a dry run that cannot be made (no such datasource): exit 2, not a diff
    expect(await main(["dry-run", "nope", "--payload", payload], () => {})).toBe(2);
  });

  it("answers bad input like the webhook does", async () => {
    const res = await pipeline.post("nope", githubRequest({}), "/dry-run");
    expect(res.status).toBe(404);
  });
});
