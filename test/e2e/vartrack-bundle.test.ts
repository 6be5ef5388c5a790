import { randomUUID } from "node:crypto";
import { loadFixtures, type OpenStore } from "@varstream/sinks/testing";
import { GitRepo, githubPushPayload, githubRequest, Pipeline } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SECRET = "vartrack-webhook-secret";
const dest = `vt-${randomUUID().slice(0, 8)}`;

/**
 * A bundle written for varTrack, in its dialect (its platform and datasource fields, bare tags, a rule
 * without a file selector, `prune` left unset and `prune` as a message, a mongo datasource by host and
 * port, an s3 one in the spellings of varTrack's examples, a sink varstream has not built),
 * run through the whole pipeline: it behaves as varTrack documents it.
 */
describe("a varTrack bundle, unchanged", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let redis: OpenStore;
  let zookeeper: OpenStore;
  let mongo: OpenStore;
  let s3: OpenStore;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/vt-config");
    const fixtures = new Map(await loadFixtures());
    redis = await fixtures.get("redis")!.open();
    zookeeper = await fixtures.get("zookeeper")!.open({ variant: "json" });
    mongo = await fixtures.get("mongo")!.open({ variant: "shared" });
    const m = new URL((mongo.config as { uri: string }).uri);
    s3 = await fixtures.get("s3")!.open();
    const b = s3.config as { bucket: string; endpoint: string; access_key_id: string; secret_access_key: string };
    const r = redis.config as { host: string; port: number; db: number };
    const z = zookeeper.config as { connect: string; root: string };
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [
            {
              github: {
                tag: "",
                endpoint: repo.endpoint,
                secret: SECRET,
                protocol: "https",
                verify_ssl: true,
                timeout: "30s",
                max_retries: 3,
                push_event_name: "push",
              },
            },
          ],
          datasources: [
            {
              redis: {
                tag: "cache",
                hosts: [`${r.host}:${r.port}`],
                database: r.db,
                mode: "STANDALONE",
                data_structure: "HASH",
                key_format: "dot",
                update_strategy: "STRATEGY_KEY_VALUE",
                connection_timeout: 5,
              },
            },
            { zookeeper: { tag: "", hosts: [z.connect], base_path: z.root, encoding: "json", session_timeout: "10s" } },
            {
              mongo: {
                tag: "docs",
                host: m.hostname,
                port: Number(m.port),
                database: (mongo.config as { database: string }).database,
                collection: "configs",
                env_as_collection: false,
                update_strategy: "STRATEGY_KEY_VALUE",
                ssl: false,
                max_pool_size: 1,
                connect_timeout_ms: 5000,
              },
            },
            {
              // the spellings of varTrack's own examples, and a SecretRef by value
              s3: {
                tag: "",
                endpoint_url: b.endpoint,
                bucket: b.bucket,
                region: "us-east-1",
                access_key: b.access_key_id,
                secret_key: { value: b.secret_access_key },
                force_path_style: true,
                one_file_per_key: false,
                server_side_encryption: "",
              },
            },
            { configmap: { tag: "", namespace: "apps", configmap_name: "app-config" } },
          ],
          global_tags: { team: "platform" },
          rules: [
            // no file selector: every changed file; prune unset: off, as in varTrack
            {
              platform: "github",
              datasource: "cache",
              destination_template: `${dest}:{file_stem}`,
              sync_mode: "SYNC_MODE_FULL",
            },
            {
              platform: "github",
              datasource: "zookeeper",
              file_name: "app.yaml",
              root_key: "",
              destination_template: "vt",
              prune: { enabled: true, last: true },
              self_heal: true,
            },
            { platform: "github", datasource: "docs", file_name: "app.yaml", destination_template: "vt" },
            { platform: "github", datasource: "s3", file_name: "app.yaml", destination_template: "vt" },
            { platform: "github", datasource: "configmap", file_name: "app.yaml" },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await redis?.close();
    await zookeeper?.close();
    await mongo?.close();
    await s3?.close();
    await repo?.cleanup();
  });

  it("lists what it accepts but does not use, and leaves the rule of the unbuilt sink inactive", () => {
    const paths = pipeline.bundle.notices.map((n) => `${n.kind} ${n.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        "unused bundle.platforms[0].github.verify_ssl",
        "unused bundle.datasources[0].redis.update_strategy",
        "unused bundle.datasources[1].zookeeper.session_timeout",
        "unused bundle.datasources[2].mongo.connect_timeout_ms",
        "unused bundle.datasources[3].s3.server_side_encryption",
        "unsupported bundle.datasources[4]",
        "mapped bundle.rules[0].sync_mode",
        "unused bundle.rules[1].prune.last",
      ]),
    );
    expect(pipeline.bundle.rules.map((r) => r.datasource)).toEqual([
      ["redis-cache"],
      ["zookeeper"],
      ["mongo-docs"],
      ["s3"],
    ]);
    expect(pipeline.bundle.rules[0]?.labels).toEqual({ team: "platform" });
  });

  it("syncs every changed file by the bare tag's webhook path, and keeps removed keys unless the rule prunes", async () => {
    const push = async (datasource: string, files: Record<string, string>) => {
      const commit = await repo.commit(files);
      const res = await pipeline.post(datasource, githubRequest(githubPushPayload(repo, commit), { secret: SECRET }));
      expect(res.status).toBe(202);
      const task = await pipeline.waitTask(res.body.task_id, 60_000);
      expect(task.state).toBe("SUCCEEDED");
      return task;
    };
    await push("cache", { "app.yaml": "db:\n  host: a\n  port: 5432\nmode: blue\n", "extra.json": '{"x": 1}' });
    expect(await redis.view.read(`${dest}:app`)).toEqual({ "db.host": "a", "db.port": "5432", mode: "blue" });
    expect(await redis.view.read(`${dest}:extra`)).toEqual({ x: "1" });
    await push("zookeeper", { "app.yaml": "db:\n  host: a\n  port: 5432\nmode: blue\n" });
    expect(await zookeeper.view.read("vt")).toEqual({ "db.host": "a", "db.port": "5432", mode: "blue" });
    await push("docs", { "app.yaml": "db:\n  host: a\n  port: 5432\nmode: blue\n" });
    expect(await mongo.view.read("vt")).toEqual({ "db.host": "a", "db.port": "5432", mode: "blue" });
    await push("s3", { "app.yaml": "db:\n  host: a\n  port: 5432\nmode: blue\n" });
    expect(await s3.view.read("vt")).toEqual({ "db.host": "a", "db.port": "5432", mode: "blue" });

    // `mode` leaves the file: the redis rule (prune unset) keeps it, the zookeeper rule (prune: {enabled}) deletes it.
    const change = { "app.yaml": "db:\n  host: b\n  port: 5432\n" };
    await push("cache", change);
    expect(await redis.view.read(`${dest}:app`)).toEqual({ "db.host": "b", "db.port": "5432", mode: "blue" });
    await push("zookeeper", change);
    expect(await zookeeper.view.read("vt")).toEqual({ "db.host": "b", "db.port": "5432" });
  });

  it("refuses a webhook for the platform without its secret", async () => {
    const commit = await repo.commit({ "app.yaml": "db:\n  host: c\n" });
    const res = await pipeline.post("cache", githubRequest(githubPushPayload(repo, commit), { secret: "wrong" }));
    expect(res.status).toBe(401);
    expect(await redis.view.read(`${dest}:app`)).toMatchObject({ "db.host": "b" });
  });
});
