import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeBundle, loadBundle } from "../src/index.ts";
import { expectRefused } from "./refusal.ts";

const FIXTURE = join(import.meta.dirname, "fixtures/vartrack/every-field.cue");

describe("varTrack's bundle dialect", () => {
  it("loads a bundle setting every field of varTrack's protos, with varTrack's meaning", async () => {
    const bundle = await loadBundle(FIXTURE);
    expect([...bundle.platforms.keys()]).toEqual(["github-corp", "gitea"]);
    expect([...bundle.datasources.keys()]).toEqual([
      "redis-cache",
      "redis-ha",
      "zookeeper",
      "ssh-web",
      "mongo-primary",
      "s3",
      "redis-cluster",
    ]);
    expect(bundle.datasources.get("redis-cache")?.config).toMatchObject({
      host: "redis.example.com",
      port: 6380,
      db: 3,
      layout: "string",
      ttl_seconds: 3600,
      tls: true,
      tls_ca: { file: "/etc/ssl/redis-ca.pem" },
    });
    expect(bundle.datasources.get("zookeeper")?.config).toMatchObject({
      connect: "zk1:2181,zk2:2181/apps",
      root: "/vartrack/config",
      encoding: "json",
    });
    expect(bundle.datasources.get("ssh-web")?.config).toMatchObject({
      host: "web1.example.com",
      port: 2222,
      path: "/etc/app",
      private_key: { file: "/etc/vartrack/id_ed25519" },
      validate_command: "app --check {file}",
      file_mode: "0640",
      owner: "app",
      sudo: false,
      absolute_paths: true,
      reload_command: "systemctl reload app && logger reloaded",
    });
    expect(bundle.secretManagers?.vault).toMatchObject({
      address: "https://vault.example.com",
      mount: "kv",
      approle: { role_id: "role", secret_id: { env: "VAULT_SECRET_ID" }, mount: "approle" },
    });
    // Only the rules writing something supported, not dry-run, stay active.
    expect(bundle.rules.map((r) => r.datasource)).toEqual([
      ["redis-cache"],
      ["zookeeper"],
      ["ssh-web"],
      ["mongo-primary"],
      ["redis-ha"],
    ]);
    const [first, second, third] = bundle.rules;
    expect(first).toMatchObject({
      sync_mode: "mirror",
      prune: true,
      protection: ["local.*"],
      exclude_repositories: ["acme/legacy-config", "acme/frozen-*"],
      labels: { team: "platform" },
    });
    expect(first?.root_key).toBeUndefined();
    expect(second).toMatchObject({ sync_mode: "mirror", prune: true });
    // A rule without a file selector syncs every changed file; the structured prune turns it on.
    expect(third).toMatchObject({ file_patterns: ["**"], prune: true });

    const paths = (kind: string) => bundle.notices.filter((n) => n.kind === kind).map((n) => n.path);
    expect(paths("unused")).toEqual(
      expect.arrayContaining([
        "bundle.platforms[0].github.verify_ssl",
        "bundle.platforms[1].gitea.delivery_header",
        "bundle.datasources[0].redis.key_prefix",
        "bundle.datasources[2].zookeeper.session_timeout",
        "bundle.rules[0].prune.last",
        "bundle.rules[0].secret_manager",
        "bundle.rules[0].vault",
        "bundle.schema_registry.secret_manager",
        "bundle.auth",
        "bundle.monitoring",
        "bundle.celery_broker_datasource",
        "bundle.max_webhook_body_bytes",
      ]),
    );
    expect(paths("unsupported")).toEqual(
      expect.arrayContaining([
        "bundle.datasources[10].redis.mode",
        "bundle.datasources[6]",
        "bundle.datasources[7]",
        "bundle.datasources[8]",
      ]),
    );
    // s3: varTrack's prefix joined with "/", its SecretRefs as credentials
    expect(bundle.datasources.get("s3")).toMatchObject({
      kind: "s3",
      config: {
        endpoint: "https://s3.example.com",
        region: "eu-west-1",
        bucket: "config",
        key_prefix: "apps/",
        access_key_id: "AKIA",
        secret_access_key: { env: "S3_SECRET" },
        session_token: { file: "/run/s3-session" },
        force_path_style: true,
        format: "json",
      },
    });
    // mongo: the endpoint (before hosts, host and port) and the replica set make the uri.
    expect(bundle.datasources.get("mongo-primary")).toMatchObject({
      kind: "mongo",
      config: {
        uri: "mongodb://mongo:27017?replicaSet=rs0",
        username: "app",
        password: "mongo-pass",
        auth_source: "admin",
        tls: false,
        database: "vartrack",
        collection: "vars",
        layout: "key",
      },
    });
    expect(paths("inactive")).toEqual(expect.arrayContaining(["bundle.rules[5].dry_run"]));
    expect(bundle.unsupported.map((u) => u.name)).toEqual(["configmap", "helm", "vercel", "redis-cluster-strings"]);
    // CLUSTER: the hosts are seed nodes
    expect(bundle.datasources.get("redis-cluster")?.config).toMatchObject({
      cluster_nodes: ["c1:6379", "c2:6379", "c3:6379"],
      layout: "hash",
    });
    // SENTINEL: the hosts are the sentinels, which name the master
    expect(bundle.datasources.get("redis-ha")?.config).toMatchObject({
      sentinels: ["s1:26379", "s2:26379"],
      sentinel_master: "mymaster",
    });
  });

  const base = {
    platforms: [{ github: { endpoint: "https://github.com", secret: "s" } }],
    datasources: [{ redis: { tag: "cache", hosts: ["127.0.0.1:6379"] } }],
    rules: [{ platform: "github", datasource: "cache", file_name: "app.yaml" }],
  };
  const withRedis = (extra: object) => ({
    ...base,
    datasources: [{ redis: { ...base.datasources[0]!.redis, ...extra } }],
  });

  it.each([
    [withRedis({ mode: "MESH" }), "bundle.datasources[0].redis.mode", /one of DEPLOYMENT_MODE_UNSPECIFIED/],
    [withRedis({ database: 16 }), "bundle.datasources[0].redis.database", /0\.\.15/],
    [withRedis({ ttl: "an hour" }), "bundle.datasources[0].redis.ttl", /duration/],
    [withRedis({ hosts: ["a:1", "b:2"] }), "bundle.datasources[0].redis.hosts", /STANDALONE redis has one host/],
    [withRedis({ hots: ["a:1"] }), "bundle.datasources[0].redis.hots", /not a known field/],
    [
      { ...base, platforms: [{ github: { ...base.platforms[0]!.github, protocol: "ftp" } }] },
      "bundle.platforms[0].github.protocol",
      /one of ssh, http, https/,
    ],
    [
      { ...base, datasources: [...base.datasources, { mongo: { colection: "x" } }] },
      "bundle.datasources[1].mongo.colection",
      /not a known field/,
    ],
    [
      { ...base, rules: [{ ...base.rules[0], prune: { enabled: true, keep: 1 } }] },
      "bundle.rules[0].prune.keep",
      /not a field of PruneConfig/,
    ],
  ])("refuses a value outside varTrack's protos with its path (%#)", (doc, path, reason) =>
    expectRefused(doc, path, reason),
  );

  it("addresses a datasource by its bare tag, and a tag of '' names the entry by its kind", () => {
    const bundle = decodeBundle({
      bundle: { ...base, datasources: [...base.datasources, { file: { tag: "", path: "/tmp/x" } }] },
    });
    expect(bundle.rules[0]?.datasource).toEqual(["redis-cache"]);
    expect(bundle.datasources.has("file")).toBe(true);
  });

  it("writes a mongo of STRATEGY_FILE a document per source file, as varTrack's file strategy", () => {
    const mongo = (update_strategy: string) =>
      decodeBundle({
        bundle: { ...base, datasources: [...base.datasources, { mongo: { host: "m", update_strategy } }] },
      }).datasources.get("mongo")?.config;
    expect(mongo("STRATEGY_FILE")).toMatchObject({ layout: "file", uri: "mongodb://m/" });
    expect(mongo("STRATEGY_DOCUMENT")).toMatchObject({ layout: "key" });
  });

  it("roots a zookeeper without base_path at /, where varTrack writes its absolute destinations", () => {
    const bundle = decodeBundle({
      bundle: { ...base, datasources: [...base.datasources, { zookeeper: { hosts: ["zk:2181"] } }] },
    });
    expect(bundle.datasources.get("zookeeper")?.config).toMatchObject({ connect: "zk:2181", root: "/" });
    expect(bundle.notices).toContainEqual(expect.objectContaining({ path: "bundle.datasources[1].zookeeper" }));
  });

  it("takes a rule's Vault (vault, or secrets as varTrack's e2e bundles write it) as the bundle's one Vault", () => {
    const secrets = {
      default: {
        type: "vault",
        vault_addr: "http://vault:8200",
        auth: { type: "token", token: "root" },
        mount_point: "secret",
        path_prefix: "vartrack/configs",
        kv_version: 2,
      },
    };
    const bundle = decodeBundle({ bundle: { ...base, rules: [{ ...base.rules[0], secrets }] } });
    expect(bundle.secretManagers?.vault).toMatchObject({
      address: "http://vault:8200",
      token: "root",
      mount: "secret",
      kv_version: 2,
    });
    const approle = decodeBundle({
      bundle: {
        ...base,
        rules: [
          {
            ...base.rules[0],
            vault: { address: "http://v:8200", auth_method: "approle", role_id: "r", secret_id: "s" },
          },
        ],
      },
    });
    expect(approle.secretManagers?.vault).toMatchObject({ address: "http://v:8200", approle: { role_id: "r" } });
    // an auth method varstream does not log in with: listed, not used, nothing refused
    const kube = decodeBundle({
      bundle: {
        ...base,
        rules: [{ ...base.rules[0], vault: { address: "http://v:8200", auth_method: "kubernetes", role: "app" } }],
      },
    });
    expect(kube.secretManagers?.vault).toBeUndefined();
    expect(kube.notices).toContainEqual(
      expect.objectContaining({
        path: "bundle.rules[0].vault",
        kind: "unused",
        message: expect.stringMatching(/kubernetes/),
      }),
    );
  });

  it("leaves varstream's own redis, mongo and s3 fields as they are, and gives each mode its hosts' default port", () => {
    const own = decodeBundle({
      bundle: {
        ...base,
        datasources: [
          ...base.datasources,
          { redis: { tag: "ha", sentinels: ["s1:26379"], sentinel_master: "main" } },
          { mongo: { tag: "x509", uri: "mongodb://m:27017", username: "CN=app" } },
          { s3: { tag: "raw", bucket: "b", key_prefix: "apps-" } },
          { redis: { tag: "vt-sentinel", hosts: ["s1", "redis://s2:26380"], mode: "SENTINEL" } },
          { redis: { tag: "vt-cluster", hosts: ["redis://c1", "c2:7000"], mode: "CLUSTER" } },
        ],
      },
    });
    expect(own.datasources.get("redis-ha")?.config).toMatchObject({ sentinels: ["s1:26379"], sentinel_master: "main" });
    expect(own.datasources.get("mongo-x509")?.config).toMatchObject({ username: "CN=app" });
    expect(own.datasources.get("s3-raw")?.config).toMatchObject({ key_prefix: "apps-" });
    expect(own.datasources.get("redis-vt-sentinel")?.config).toMatchObject({ sentinels: ["s1:26379", "s2:26380"] });
    expect(own.datasources.get("redis-vt-cluster")?.config).toMatchObject({ cluster_nodes: ["c1:6379", "c2:7000"] });
  });

  it("lists a rule's secret backend it cannot use instead of refusing the bundle", () => {
    const bundle = decodeBundle({
      bundle: { ...base, rules: [{ ...base.rules[0], secrets: { aws: { type: "aws-sm", region: "eu-west-1" } } }] },
    });
    expect(bundle.secretManagers?.vault).toBeUndefined();
    expect(bundle.notices).toContainEqual(expect.objectContaining({ path: "bundle.rules[0].secrets", kind: "unused" }));
  });
});
