import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { TaskDocument } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, TEST_REDIS_PORT } from "@varstream/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SCHEMA = (maxPort: number) => `
#Config: {
  service: {
    name: string
    port: int & >0 & <${maxPort}
  }
  env: "dev" | "prod"
  db: {
    host: string
    password: string @sensitive()
  }
}
`;

const config = (port: number | string, env = "prod", extra = "") =>
  `service:\n  name: web\n  port: ${port}\nenv: ${env}\ndb:\n  host: db.internal\n  password: hunter2-${extra}\n`;

describe("CUE validation of every file against the schema registry", () => {
  let root: string;
  let app: GitRepo;
  let schemas: GitRepo;
  let pipeline: Pipeline;
  let redis: Redis;
  const logs: string[] = [];
  const dest = `valid-${randomUUID().slice(0, 8)}`;

  const push = async (files: Record<string, string>): Promise<TaskDocument> => {
    const commit = await app.commit(files);
    const res = await pipeline.post("redis", githubRequest(githubPushPayload(app, commit)));
    expect(res.status).toBe(202);
    return pipeline.waitTask(res.body.task_id);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "varstream-validation-"));
    app = await GitRepo.create("acme/app", root);
    schemas = await GitRepo.create("platform/schemas", root);
    await schemas.commit({ "app.cue": SCHEMA(65536), "lax.cue": SCHEMA(65536) });
    redis = new Redis({ port: TEST_REDIS_PORT });
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => logs.push(chunk.toString("utf8")));
    const rule = { platform: "github", datasource: "redis", branch_map: { main: "prod" } };
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: app.endpoint, insecure_skip_signature: true } }],
          datasources: [{ redis: { port: TEST_REDIS_PORT } }],
          schema_registry: { platform: "github", repo: "platform/schemas" },
          rules: [
            { ...rule, file_name: "app.yaml", destination_template: `${dest}:{file_stem}` },
            { ...rule, file_name: "lax.yaml", destination_template: `${dest}:{file_stem}`, strict_validation: false },
            { ...rule, file_name: "free.yaml", destination_template: `${dest}:{file_stem}`, require_schema: true },
            {
              ...rule,
              file_name: "secret.yaml",
              destination_template: `${dest}:{file_stem}`,
              secret_refs: ["env:VS_E2E_*"],
            },
          ],
        },
      },
      settings: { logLevel: "debug", schemaTtlMs: 3_600_000, schemaCacheDir: join(root, "schema-cache") },
      logStream: stream,
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    redis?.disconnect();
    await app?.cleanup();
  });

  it("passes a valid file and writes it, numbers as numbers", async () => {
    const task = await push({ "app.yaml": config(8080) });
    expect(task.state).toBe("SUCCEEDED");
    expect(task.etl.files[0]?.validation).toEqual({ status: "passed", errors: [] });
    expect(await redis.hget(`${dest}:app`, "service.port")).toBe("8080");
  });

  it("fails a violating file with each violation's path, and leaves the sink unchanged", async () => {
    const before = await redis.hgetall(`${dest}:app`);
    const task = await push({
      "app.yaml": `service:\n  name: web\n  port: "8080"\nenv: staging\ndb:\n  password: x\n`,
    });
    expect(task.state).toBe("FAILED");
    const paths = task.etl.files[0]?.validation.errors.map((e) => e.path);
    expect(task.etl.files[0]?.validation.status).toBe("failed");
    expect(paths).toEqual(expect.arrayContaining(["service.port", "env", "db.host"]));
    expect(task.message).toMatch(/schema app\.cue: .*service\.port/);
    expect(task.code).toBe("SCHEMA_VIOLATION");
    expect(await redis.hgetall(`${dest}:app`)).toEqual(before);
  });

  it("a violation of a @sensitive field never puts its value into the task document", async () => {
    const task = await push({
      "app.yaml": "service:\n  name: web\n  port: 80\nenv: prod\ndb:\n  host: h\n  password: 424242424242\n",
    });
    expect(task.state).toBe("FAILED");
    expect(task.etl.files[0]?.validation.errors.map((e) => e.path)).toContain("db.password");
    expect(JSON.stringify(task)).not.toContain("424242424242");
    expect(JSON.stringify(task)).toContain("****");
  });

  it("writes a violating file with warnings when strict_validation is false", async () => {
    const task = await push({ "lax.yaml": config(0) });
    expect(task.state).toBe("SUCCEEDED");
    expect(task.etl.files[0]?.validation).toMatchObject({ status: "warned", errors: [{ path: "service.port" }] });
    expect(task.warnings.join("\n")).toMatch(/lax\.yaml: service\.port: invalid value 0/);
    expect(await redis.hget(`${dest}:lax`, "service.port")).toBe("0");
  });

  it("fails a file without a schema when the rule requires one", async () => {
    const task = await push({ "free.yaml": "a: 1\n" });
    expect(task.state).toBe("FAILED");
    expect(task.message).toMatch(/no schema for free\.yaml/);
    expect(task.code).toBe("SCHEMA_MISSING");
  });

  it("applies a schema pushed to the registry to the next config push, without a restart", async () => {
    const commit = await schemas.commit({ "app.cue": SCHEMA(1000) });
    const res = await pipeline.post("schema-registry", githubRequest(githubPushPayload(schemas, commit)));
    expect(res.status).toBe(202);
    const refreshed = await pipeline.waitTask(res.body.task_id);
    expect(refreshed.message).toBe(`schema registry refreshed at ${commit.after.slice(0, 12)}`);
    const task = await push({ "app.yaml": config(8081, "prod", "again") });
    expect(task.state).toBe("FAILED");
    expect(task.etl.files[0]?.validation.errors[0]).toMatchObject({ path: "service.port" });
    expect((await push({ "app.yaml": config(999) })).state).toBe("SUCCEEDED");
  });

  it("writes the secret a @secret() reference names, while Kafka only carries the reference", async () => {
    process.env.VS_E2E_DB_TOKEN = "the-real-token";
    await schemas.commit({ "secret.cue": "#Config: {db: {token: string @secret()}, name: string}" });
    const head = schemas.headSha;
    const refresh = await pipeline.post(
      "schema-registry",
      githubRequest(
        githubPushPayload(schemas, {
          before: "0".repeat(40),
          after: head,
          added: ["secret.cue"],
          modified: [],
          removed: [],
        }),
      ),
    );
    await pipeline.waitTask(refresh.body.task_id);
    const task = await push({ "secret.yaml": "name: web\ndb:\n  token: env:VS_E2E_DB_TOKEN\n" });
    expect(task.state).toBe("SUCCEEDED");
    expect(await redis.hget(`${dest}:secret`, "db.token")).toBe("the-real-token");
    const missing = await push({ "secret.yaml": "name: web2\ndb:\n  token: env:VS_E2E_NOT_SET\n" });
    expect(missing.state).toBe("FAILED");
    expect(missing.message).toMatch(/secret db\.token: secret env VS_E2E_NOT_SET is not set/);
    expect(missing.code).toBe("SECRET_UNRESOLVED");
    expect(await redis.hget(`${dest}:secret`, "name")).toBe("web");
    expect(logs.join("")).not.toContain("the-real-token");
  });

  it("refuses a @secret() reference outside the rule's secret_refs, before anything is written", async () => {
    process.env.VS_E2E_OTHER_TEAM = "not-yours";
    for (const ref of ["env:HOME", "file:/etc/passwd", "vault:teams/other#token", "env:VS_E2E_/../HOME"]) {
      const task = await push({ "secret.yaml": `name: thief\ndb:\n  token: ${ref}\n` });
      expect(task.state, ref).toBe("FAILED");
      expect(task.code, ref).toBe("SECRET_REF_REFUSED");
      expect(task.message, ref).toContain("secret_refs");
    }
    expect(await redis.hget(`${dest}:secret`, "name")).toBe("web");
    expect(await redis.hget(`${dest}:secret`, "db.token")).toBe("the-real-token");
  });

  it("never shows a @sensitive value in logs or task documents", async () => {
    const list = await fetch(`${pipeline.url}/v1/tasks?limit=1000`).then((r) => r.text());
    expect(list).toContain("SUCCEEDED");
    expect(list).not.toContain("hunter2");
    expect(logs.length).toBeGreaterThan(10);
    expect(logs.join("")).not.toContain("hunter2");
  });
});
