import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, KafkaConnectError, loadSettings, openKafka, topicNames } from "@varstream/shared";
import {
  denyWrite,
  fileSinkBundle,
  GitRepo,
  githubPushPayload,
  githubRequest,
  grantAcls,
  makeCert,
  Pipeline,
  readCommitted,
  SECURE_KAFKA,
  TEST_KAFKA,
  waitFor,
} from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const logger = createLogger("test", "silent");
const prefix = () => `ts${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;

/** Settings for one secured connection to the test broker. */
function settingsFor(env: Record<string, string>) {
  return loadSettings({ KAFKA_BROKERS: SECURE_KAFKA.sasl, ...env });
}

const scram = (
  user: "varstream" | "limited",
  password: string = SECURE_KAFKA.users[user],
  mechanism = "SCRAM-SHA-512",
) => ({
  KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: user,
  KAFKA_SASL_PASSWORD: password,
  KAFKA_TLS_CA_FILE: SECURE_KAFKA.ca,
});

describe("secured broker connections", () => {
  beforeAll(async () => {
    // The SCRAM user and the certificate principal may do anything under the prefixes the tests use.
    for (const principal of ["User:varstream", "User:CN=varstream"]) await grantAcls({ principal, prefix: "ts" });
  });

  it.each(["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])("logs in with SASL %s over TLS", async (mechanism) => {
    const { kafka } = await openKafka(settingsFor(scram("varstream", undefined, mechanism)), logger);
    const admin = kafka.admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    expect(cluster.brokers.map((b) => b.port)).toContain(Number(SECURE_KAFKA.sasl.split(":")[1]));
  });

  it("logs in with a client certificate (mutual TLS) and produces under its ACLs", async () => {
    const client = SECURE_KAFKA.client("varstream");
    const settings = loadSettings({
      KAFKA_BROKERS: SECURE_KAFKA.mtls,
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_TLS_CA_FILE: SECURE_KAFKA.ca,
      KAFKA_TLS_CERT_FILE: client.cert,
      KAFKA_TLS_KEY_FILE: client.key,
    });
    const { kafka } = await openKafka(settings, logger);
    const topic = `${prefix()}mtls`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic, messages: [{ value: "hello" }], acks: -1 });
    await producer.disconnect();
    expect(sent?.errorCode).toBe(0);
  });

  it("a client certificate the CA did not sign is refused", async () => {
    const other = makeCert(await mkdtemp(join(tmpdir(), "varstream-otherca-")));
    const settings = loadSettings({
      KAFKA_BROKERS: SECURE_KAFKA.mtls,
      KAFKA_SECURITY_PROTOCOL: "SSL",
      KAFKA_TLS_CA_FILE: SECURE_KAFKA.ca,
      KAFKA_TLS_CERT_FILE: other.cert,
      KAFKA_TLS_KEY_FILE: other.key,
    });
    await expect(openKafka(settings, logger, { waitMs: 3000 })).rejects.toThrow(KafkaConnectError);
  });

  it("a wrong password fails at start with a message naming the login", async () => {
    const err = await openKafka(settingsFor(scram("varstream", "not-the-password")), logger).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KafkaConnectError);
    expect((err as Error).message).toMatch(
      /refused the SASL SCRAM-SHA-512 login of user varstream: wrong username or password/,
    );
    expect((err as Error).message).not.toContain("not-the-password");
  });

  it("an unknown CA fails at start with a message naming the certificate", async () => {
    const other = makeCert(await mkdtemp(join(tmpdir(), "varstream-otherca-")));
    const err = await openKafka(settingsFor({ ...scram("varstream"), KAFKA_TLS_CA_FILE: other.ca }), logger).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(KafkaConnectError);
    expect((err as Error).message).toMatch(/TLS certificate is not trusted \(\w+\): set KAFKA_TLS_CA_FILE/);
  });

  it("TLS against a plaintext listener says so instead of timing out", async () => {
    const settings = loadSettings({ ...scram("varstream"), KAFKA_BROKERS: TEST_KAFKA });
    const err = await openKafka(settings, logger, { waitMs: 5000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KafkaConnectError);
    expect((err as Error).message).toMatch(/KAFKA_SECURITY_PROTOCOL is SASL_SSL/);
  });

  it("APP_ENV=production refuses a plaintext broker unless KAFKA_ALLOW_PLAINTEXT says so", async () => {
    const plain = { KAFKA_BROKERS: TEST_KAFKA, APP_ENV: "production" };
    await expect(openKafka(loadSettings(plain), logger)).rejects.toThrow(
      /APP_ENV=production refuses KAFKA_SECURITY_PROTOCOL=PLAINTEXT.*KAFKA_ALLOW_PLAINTEXT=true/,
    );
    const { kafka } = await openKafka(loadSettings({ ...plain, KAFKA_ALLOW_PLAINTEXT: "true" }), logger);
    expect(kafka).toBeDefined();
    // Over TLS production is content.
    await openKafka(settingsFor({ ...scram("varstream"), APP_ENV: "production" }), logger);
  });

  it("the password can be a secret reference (file:) and is read from there", async () => {
    const dir = await mkdtemp(join(tmpdir(), "varstream-kpass-"));
    await writeFile(join(dir, "password"), `${SECURE_KAFKA.users.varstream}\n`);
    const { KAFKA_SASL_PASSWORD: _, ...env } = scram("varstream");
    await openKafka(settingsFor({ ...env, KAFKA_SASL_PASSWORD_REF: `file:${join(dir, "password")}` }), logger);
    await openKafka(settingsFor({ ...env, KAFKA_SASL_PASSWORD_FILE: join(dir, "password") }), logger);
  });

  it("settings that cannot work are refused before connecting", () => {
    expect(() => loadSettings({ KAFKA_SECURITY_PROTOCOL: "SASL_SSL" })).toThrow(/needs KAFKA_SASL_USERNAME/);
    expect(() => loadSettings({ KAFKA_SECURITY_PROTOCOL: "TLS" })).toThrow(/one of PLAINTEXT, SSL/);
    expect(() => loadSettings({ KAFKA_TLS_CA_FILE: "/ca" })).toThrow(/has no TLS/);
    expect(() => loadSettings({ KAFKA_SECURITY_PROTOCOL: "SSL", KAFKA_TLS_CERT_FILE: "/c" })).toThrow(
      /both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE/,
    );
    expect(() => loadSettings({ ...scram("varstream"), KAFKA_SASL_MECHANISM: "GSSAPI" })).toThrow(
      /KAFKA_SASL_MECHANISM must be one of/,
    );
  });
});

describe("the whole pipeline over SASL_SSL", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  const logs = new PassThrough();
  let logText = "";
  logs.on("data", (chunk) => {
    logText += String(chunk);
  });

  beforeAll(async () => {
    await grantAcls({ principal: "User:varstream", prefix: "t" });
    repo = await GitRepo.create("acme/secure");
    pipeline = await Pipeline.start({
      env: { ...scram("varstream"), KAFKA_BROKERS: SECURE_KAFKA.sasl, LOG_LEVEL: "info" },
      bundle: fileSinkBundle(repo),
      logStream: logs,
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("ingest, ETL and sink writer each connect as the SCRAM user; a push is applied; no secret is logged", async () => {
    const commit = await repo.commit({ "app.json": '{"db": {"host": "a"}}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    expect(res.status).toBe(202);
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");
    const out = join(repo.root, "out");
    const written = (await readdir(out, { recursive: true })).filter(
      (f) => f.endsWith("app.json") && !f.startsWith("."),
    );
    expect(written).toHaveLength(1);
    expect(JSON.parse(await readFile(join(out, written[0]!), "utf8"))).toEqual({ db: { host: "a" } });
    const connected = logText.split("\n").filter((l) => l.includes('"kafka connected"'));
    expect(connected.map((l) => JSON.parse(l).name).sort()).toEqual(["etl", "ingest", "sink-writer"]);
    for (const line of connected) expect(JSON.parse(line)).toMatchObject({ protocol: "SASL_SSL", user: "varstream" });
    expect(logText).not.toContain(SECURE_KAFKA.users.varstream);
  });
});

describe("a principal without WRITE on keysets", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  const fatal: Error[] = [];

  beforeAll(async () => {
    const p = prefix();
    await grantAcls({ principal: "User:limited", prefix: p, denyWrite: [topicNames(p).keysets] });
    repo = await GitRepo.create("acme/limited");
    pipeline = await Pipeline.start({
      env: { ...scram("limited"), KAFKA_BROKERS: SECURE_KAFKA.sasl },
      settings: { topicPrefix: p },
      bundle: fileSinkBundle(repo),
      onFatal: (err) => fatal.push(err),
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("cannot produce: the ETL reports the denied ACL and stops; nothing of the chunk is committed", async () => {
    const topics = topicNames(pipeline.settings.topicPrefix);
    const commit = await repo.commit({ "app.json": '{"a": 1}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    expect(res.status).toBe(202);
    await waitFor(() => fatal.length > 0, { what: "the ETL to report a fatal error", timeoutMs: 30_000 });
    // Kafka 3.9 names the refused topic; 4.x answers OPERATION_NOT_ATTEMPTED for the rest of the batch
    // and kafkajs reports whichever partition came first.
    expect(fatal[0]?.message).toMatch(
      /Kafka (denied TOPIC_AUTHORIZATION_FAILED to User:limited|refused part of a batched request .* WRITE ACL of User:limited)/,
    );
    expect(fatal[0]?.message).toMatch(/\(writing .*\)$/);
    expect(fatal[0]?.message).toContain(topics.keysets);
    await pipeline.etl?.close();
    pipeline.etl = undefined;

    // read_committed: no key set and no ETL report of the chunk; the task is still waiting.
    const admin = await openKafka(loadSettings({ KAFKA_BROKERS: TEST_KAFKA }), logger);
    const keysets = await readCommitted(admin.kafka, topics.keysets);
    const status = await readCommitted(admin.kafka, topics.status);
    expect(keysets).toEqual([]);
    const components = status.map((r) => JSON.parse(r.value ?? "{}").component);
    expect(components).toContain("ingest");
    expect(components).not.toContain("etl");
    expect((await pipeline.task(res.body.task_id))?.state).toBe("PENDING");
  });
});

describe("ingest when the event cannot be written but the report could", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  const p = prefix();

  beforeAll(async () => {
    await grantAcls({ principal: "User:limited", prefix: p });
    repo = await GitRepo.create("acme/half");
    pipeline = await Pipeline.start({
      env: { ...scram("limited"), KAFKA_BROKERS: SECURE_KAFKA.sasl },
      settings: { topicPrefix: p },
      bundle: fileSinkBundle(repo),
    });
  });

  afterAll(async () => {
    await denyWrite("User:limited", topicNames(p).webhooks, true).catch(() => undefined);
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("answers 503 and writes no report, so the sender's retry is published, not deduplicated to a task that never runs", async () => {
    const commit = await repo.commit({ "app.json": '{"a": 1}' });
    const req = githubRequest(githubPushPayload(repo, commit));
    // Writes to webhooks are refused from now on; status stays writable (a partition's leader gone
    // while the others answer looks the same to one produce request).
    await denyWrite("User:limited", topicNames(p).webhooks);
    await waitFor(async () => (await pipeline.post("file", req)).status === 503, {
      what: "ingest to answer 503 while webhooks refuses writes",
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    const again = await pipeline.post("file", req);
    expect(again.status).toBe(503);
    await denyWrite("User:limited", topicNames(p).webhooks, true);
    const accepted = await waitFor(
      async () => {
        const res = await pipeline.post("file", req);
        return res.status === 202 ? res.body : undefined;
      },
      { what: "the retry to be accepted", timeoutMs: 30_000, intervalMs: 500 },
    );
    expect((await pipeline.waitTask(accepted.task_id)).state).toBe("SUCCEEDED");
  });
});
