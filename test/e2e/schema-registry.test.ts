import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  contractJsonSchema,
  createKafka,
  createLogger,
  encode,
  framed,
  loadSettings,
  openRecordCodec,
  RegistryCodec,
  SchemaRegistryError,
  type Settings,
  schemaRegistryFromEnv,
  TOPIC_CONTRACTS,
  topicNames,
  valueSubject,
} from "@varstream/shared";
import {
  fileSinkBundle,
  GitRepo,
  githubPushPayload,
  githubRequest,
  Pipeline,
  readCommitted,
  TEST_KAFKA,
  TEST_SCHEMA_REGISTRY,
} from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contractHistory, contractHistoryDir, ROOT } from "../../scripts/docs/generate.ts";

const registry = schemaRegistryFromEnv({ KAFKA_SCHEMA_REGISTRY_URL: TEST_SCHEMA_REGISTRY })!;
const logger = createLogger("test", "silent");

async function registryGet(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${TEST_SCHEMA_REGISTRY}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const unique = (name: string) => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.${name}`;

describe("topic contracts in the schema registry", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/registry");
    pipeline = await Pipeline.start({
      bundle: fileSinkBundle(repo),
      env: { KAFKA_SCHEMA_REGISTRY_URL: TEST_SCHEMA_REGISTRY },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("frames every contract topic's values with its subject's schema id; subjects are BACKWARD", async () => {
    const commit = await repo.commit({ "app.json": '{"port": 8080}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");

    const kafka = createKafka(pipeline.settings, logger);
    const topics = topicNames(pipeline.settings.topicPrefix);
    for (const topic of [topics.webhooks, topics.keysets, topics.status]) {
      const subject = valueSubject(topic);
      const latest = await registryGet(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
      expect(latest.status, subject).toBe(200);
      expect((await registryGet(`/config/${encodeURIComponent(subject)}`)).body.compatibilityLevel).toBe("BACKWARD");
      const records = (await readCommitted(kafka, topic)).filter((r) => r.value !== undefined);
      expect(records.length, topic).toBeGreaterThan(0);
      for (const r of records) {
        expect(r.schemaId, `${topic} offset ${r.offset}`).toBe(latest.body.id);
        expect(r.headers["content-type"]).toBe("application/json; framing=schema-registry");
        expect(() => JSON.parse(r.value!)).not.toThrow();
      }
    }
  });

  it("dead-letters a record whose schema id the registry does not have, with the id, and goes on", async () => {
    const kafka = createKafka(pipeline.settings, logger);
    const topics = topicNames(pipeline.settings.topicPrefix);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topics.webhooks,
      messages: [
        {
          key: "github/acme/registry",
          value: framed(987_654_321, JSON.stringify({ task_id: "unknown-id" })),
          headers: { "content-type": "application/json; framing=schema-registry" },
        },
      ],
    });
    await producer.disconnect();
    const commit = await repo.commit({ "app.json": '{"port": 8081}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");

    const dead = await readCommitted(kafka, topics.dlq("etl"));
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers["dlq-error-code"]).toBe("RECORD_SCHEMA_UNKNOWN");
    expect(dead[0]!.headers["dlq-error-message"]).toContain("987654321");
    expect(dead[0]!.schemaId).toBe(987_654_321); // the record as it was
  });
});

describe("plain JSON and framed values side by side", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/mixed");
    // Ingest has no registry (writes plain JSON, reads the framed status of the others); ETL and the
    // sink writer have one (read plain events, write framed key sets and reports) — a rolling upgrade.
    const withRegistry = { schemaRegistry: registry };
    pipeline = await Pipeline.start({
      bundle: fileSinkBundle(repo),
      serviceSettings: { ingest: { schemaRegistry: undefined }, etl: withRegistry, sinkWriter: withRegistry },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("syncs when the producer of one topic frames and the next one does not", async () => {
    const commit = await repo.commit({ "app.json": '{"mode": "mixed"}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    const task = await pipeline.waitTask(res.body.task_id);
    expect(task.state).toBe("SUCCEEDED");
    const out = join(repo.root, "out");
    const written = (await readdir(out, { recursive: true })).filter((f) => f.endsWith("app.json"));
    expect(written).toHaveLength(1);
    expect(JSON.parse(await readFile(join(out, written[0]!), "utf8"))).toEqual({ mode: "mixed" });

    const kafka = createKafka(pipeline.settings, logger);
    const topics = topicNames(pipeline.settings.topicPrefix);
    const events = await readCommitted(kafka, topics.webhooks);
    expect(events.map((r) => r.schemaId)).toEqual([undefined]);
    const keysets = await readCommitted(kafka, topics.keysets);
    expect(keysets.every((r) => typeof r.schemaId === "number")).toBe(true);
  });
});

describe("contract compatibility", () => {
  it("every version of each contract's history registers in order under BACKWARD, the code's last", async () => {
    const codec = new RegistryCodec(registry);
    for (const { name } of TOPIC_CONTRACTS) {
      const history = await contractHistory(name);
      expect(history.length, name).toBeGreaterThan(0);
      const topic = unique(name);
      const ids: number[] = [];
      for (const file of history) {
        const schema = JSON.parse(await readFile(join(ROOT, contractHistoryDir(name), file), "utf8"));
        ids.push(await codec.register(topic, name, schema));
      }
      // the code's contract is the last version (test/docs.test.ts holds it to the file)
      expect(await codec.register(topic, name)).toBe(ids.at(-1));
    }
  });

  it("refuses to start on a contract change that breaks BACKWARD compatibility, naming the subject", async () => {
    const codec = new RegistryCodec(registry);
    const topic = unique("keysets");
    await codec.register(topic, "keyset");
    const keyset = contractJsonSchema("keyset") as { properties: object; required: string[] };
    const breaking = {
      ...keyset,
      properties: { ...keyset.properties, owner: { type: "string" } },
      required: [...keyset.required, "owner"],
    };
    const err = await codec.register(topic, "keyset", breaking).catch((e: Error) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toMatch(/keyset contract is not BACKWARD-compatible/);
    expect((err as Error).message).toContain(valueSubject(topic));
    expect((err as Error).message).toMatch(/required/);
    // Nothing was registered: the subject still has one version.
    const versions = await fetch(`${TEST_SCHEMA_REGISTRY}/subjects/${valueSubject(topic)}/versions`);
    expect(await versions.json()).toEqual([1]);
  });

  it("a service whose contract the registry refuses does not start", async () => {
    const prefix = unique("svc.");
    const topics = topicNames(prefix);
    // Someone registered a different status schema there: varstream's is not compatible with it.
    await new RegistryCodec(registry).register(topics.status, "status", {
      type: "object",
      properties: { only: { type: "string" } },
      required: ["only"],
      additionalProperties: false,
    });
    const err = await openRecordCodec(registry, topics, logger).catch((e: Error) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toContain(valueSubject(topics.status));
  });

  it("refuses a subject whose compatibility is weaker than BACKWARD instead of changing it", async () => {
    const topic = unique("events");
    const subject = valueSubject(topic);
    const put = await fetch(`${TEST_SCHEMA_REGISTRY}/config/${subject}`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ compatibility: "NONE" }),
    });
    expect(put.status).toBe(200);
    const err = await new RegistryCodec(registry).register(topic, "event").catch((e: Error) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toContain(`subject ${subject} has compatibility NONE`);
    expect((await registryGet(`/config/${subject}`)).body.compatibilityLevel).toBe("NONE");
  });

  it("a registry that does not answer stops the start with its address", async () => {
    const settings: Settings = loadSettings({
      KAFKA_BROKERS: TEST_KAFKA,
      KAFKA_SCHEMA_REGISTRY_URL: "http://127.0.0.1:9/apis/ccompat/v7",
    });
    const err = await openRecordCodec(settings.schemaRegistry, topicNames(unique("x.")), logger).catch((e: Error) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toContain("http://127.0.0.1:9/apis/ccompat/v7 is not reachable");
  });

  it("without a registry, values stay plain JSON (the quick start's shape)", async () => {
    const codec = await openRecordCodec(undefined, topicNames("any."), logger);
    const batch = [{ topic: "any.keysets", messages: [encode("k", { a: 1 })] }];
    expect(codec.frame(batch)).toBe(batch);
  });
});
