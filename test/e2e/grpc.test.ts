import { execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { decodeBundle } from "@varstream/bundle";
import { startIngest } from "@varstream/ingest";
import { createLogger, loadSettings } from "@varstream/shared";
import { GitRepo, githubPushPayload, grantAcls, Pipeline, SECURE_KAFKA, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Protocol buffers by hand, from varTrack's field numbers (proto/README.md) — not from varstream's own .proto.
const varint = (value: number | bigint): Buffer => {
  let n = BigInt(value);
  const out: number[] = [];
  while (n > 127n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
};
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const bytes = (field: number, payload: Buffer) => Buffer.concat([tag(field, 2), varint(payload.length), payload]);
const str = (field: number, text: string) => bytes(field, Buffer.from(text, "utf8"));
const int = (field: number, value: number) => Buffer.concat([tag(field, 0), varint(value)]);
const mapEntry = (field: number, key: string, value: string) =>
  bytes(field, Buffer.concat([str(1, key), str(2, value)]));
const timestamp = (field: number, ms: number) =>
  bytes(field, Buffer.concat([int(1, Math.floor(ms / 1000)), int(2, (ms % 1000) * 1_000_000)]));

type Fields = Map<number, (Buffer | bigint)[]>;
function decode(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let i = 0;
  const readVarint = () => {
    let shift = 0n;
    let result = 0n;
    for (;;) {
      const b = buf[i++]!;
      result |= BigInt(b & 127) << shift;
      if (b < 128) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(readVarint());
    const [field, wire] = [key >> 3, key & 7];
    let value: Buffer | bigint;
    if (wire === 0) value = readVarint();
    else if (wire === 2) {
      const len = Number(readVarint());
      value = buf.subarray(i, i + len);
      i += len;
    } else throw new Error(`wire type ${wire} not expected`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}
const text = (f: Fields, n: number) => (f.get(n)?.[0] as Buffer | undefined)?.toString("utf8") ?? "";
const num = (f: Fields, n: number) => Number((f.get(n)?.[0] as bigint | undefined) ?? 0n);

function rawCall(client: grpc.Client, method: string, request: Buffer, service = "Orchestrator"): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      `/vartrack.v1.${service}/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      (err, res) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

const SECRET = "grpc-test-secret";
const status = (f: Fields, n: number) => decode((f.get(n)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));

describe("gRPC wire compatibility with varTrack gateways (vartrack.v1)", () => {
  let repo: GitRepo;
  let schemas: GitRepo;
  let pipeline: Pipeline;
  let client: grpc.Client;

  const pushRequest = async (
    datasource: string,
    files: Record<string, string>,
    extraHeaders: Record<string, string> = {},
    platform = "github",
  ) => {
    const commit = await repo.commit(files);
    return Buffer.concat([
      str(1, platform),
      str(2, datasource),
      str(3, JSON.stringify(githubPushPayload(repo, commit))),
      mapEntry(4, "X-GitHub-Event", "push"),
      mapEntry(4, "X-GitHub-Delivery", randomUUID()),
      ...Object.entries(extraHeaders).map(([k, v]) => mapEntry(4, k, v)),
      timestamp(5, Date.now()),
    ]);
  };

  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "varstream-grpc-"));
    repo = await GitRepo.create("acme/grpc", root);
    schemas = await GitRepo.create("platform/schemas", root);
    await schemas.commit({ "default.cue": "#Config: {...}" });
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [
            { github: { endpoint: repo.endpoint, insecure_skip_signature: true } },
            { github: { tag: "signed", endpoint: repo.endpoint, secret: SECRET } },
          ],
          datasources: [{ file: { path: join(root, "out") } }],
          schema_registry: { platform: "github", repo: "platform/schemas" },
          rules: [{ platform: "github", datasource: "file", file_name: "app.yaml" }],
        },
      },
      settings: { schemaCacheDir: join(root, "schemas-cache") },
    });
    client = new grpc.Client(`127.0.0.1:${pipeline.ingest!.grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("ProcessWebhook → {task_id=1, message=2, status=3}; GetWebhookTask → WebhookTask with TaskState numbers", async () => {
    const res = decode(await rawCall(client, "ProcessWebhook", await pushRequest("file", { "app.yaml": "a: 1\n" })));
    const taskId = text(res, 1);
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(text(res, 2)).toBe("accepted");
    expect(num(decode((res.get(3)?.[0] as Buffer) ?? Buffer.alloc(0)), 1)).toBe(0);

    const task = await waitFor(async () => {
      const t = decode(await rawCall(client, "GetWebhookTask", str(1, taskId)));
      return num(t, 2) === 3 ? t : undefined; // TASK_STATE_SUCCEEDED = 3
    });
    expect(text(task, 1)).toBe(taskId);
    const created = decode(task.get(4)![0] as Buffer);
    expect(Math.abs(num(created, 1) - Date.now() / 1000)).toBeLessThan(60);
    expect(task.has(5)).toBe(true); // finished_at
    expect(task.has(6)).toBe(true); // duration
    expect(task.has(7)).toBe(false); // no error
  });

  it("a FAILED task's error = 7 is a google.rpc.Status {code = 1, message = 2}", async () => {
    const res = decode(await rawCall(client, "ProcessWebhook", await pushRequest("file", { "app.yaml": "a: [1,\n" })));
    const taskId = text(res, 1);
    const task = await waitFor(async () => {
      const t = decode(await rawCall(client, "GetWebhookTask", str(1, taskId)));
      return num(t, 2) === 4 ? t : undefined; // TASK_STATE_FAILED = 4
    });
    const error = status(task, 7);
    expect(num(error, 1)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(text(error, 2)).toMatch(/^PARSE_ERROR: /);
  });

  it("answers a webhook refused for its content in the response, and a missing task as a gRPC error", async () => {
    // Unknown datasource, no event header: answered, not raised (a gateway would count a raise against its breaker).
    const unknown = decode(
      await rawCall(client, "ProcessWebhook", await pushRequest("nope", { "app.yaml": "a: 2\n" })),
    );
    expect(text(unknown, 1)).toBe("");
    expect(text(unknown, 2)).toMatch(/^rejected: UNKNOWN_DATASOURCE: /);
    expect(num(status(unknown, 3), 1)).toBe(grpc.status.NOT_FOUND);
    const bad = decode(await rawCall(client, "ProcessWebhook", Buffer.concat([str(2, "file"), str(3, "{}")])));
    expect(num(status(bad, 3), 1)).toBe(grpc.status.INVALID_ARGUMENT);
    const missing = rawCall(client, "GetWebhookTask", str(1, "no-such-task"));
    await expect(missing).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("honours platform = 1: only the named entry's secret verifies the delivery", async () => {
    // Named github-signed and signed wrongly: refused, though the unsigned github entry would take it.
    const forged = decode(
      await rawCall(
        client,
        "ProcessWebhook",
        await pushRequest(
          "file",
          { "app.yaml": "a: 3\n" },
          { "X-Hub-Signature-256": `sha256=${"0".repeat(64)}` },
          "github-signed",
        ),
      ),
    );
    expect(text(forged, 1)).toBe("");
    expect(num(status(forged, 3), 1)).toBe(grpc.status.UNAUTHENTICATED);
    expect(text(status(forged, 3), 2)).toMatch(/^SIGNATURE_INVALID/);
    // Signed with its secret: accepted.
    const commit = await repo.commit({ "app.yaml": "a: 4\n" });
    const body = JSON.stringify(githubPushPayload(repo, commit));
    const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
    const signed = decode(
      await rawCall(
        client,
        "ProcessWebhook",
        Buffer.concat([
          str(1, "github-signed"),
          str(2, "file"),
          str(3, body),
          mapEntry(4, "X-GitHub-Event", "push"),
          mapEntry(4, "X-GitHub-Delivery", randomUUID()),
          mapEntry(4, "X-Hub-Signature-256", signature),
        ]),
      ),
    );
    expect(text(signed, 1)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("Watcher.SyncDatasource → {task_id = 1, status = 2} with status a string", async () => {
    const res = decode(await rawCall(client, "SyncDatasource", str(1, "file"), "Watcher"));
    expect(text(res, 1)).toMatch(/^[0-9a-f-]{36}$/);
    expect(text(res, 2)).toBe("accepted");
  });

  it("Ping(Empty) → Empty", async () => {
    expect((await rawCall(client, "Ping", Buffer.alloc(0))).length).toBe(0);
  });

  it("ProcessSchemaWebhook {platform=1, repo=2, branch=3, raw_payload=4, headers=5, received_at=6} refreshes the registry", async () => {
    const commit = await schemas.commit({ "default.cue": "#Config: {a?: int}" });
    const request = Buffer.concat([
      str(1, "github"),
      str(2, "platform/schemas"),
      str(3, "main"),
      str(4, JSON.stringify(githubPushPayload(schemas, commit))),
      mapEntry(5, "X-GitHub-Event", "push"),
      mapEntry(5, "X-GitHub-Delivery", randomUUID()),
      timestamp(6, Date.now()),
    ]);
    const res = decode(await rawCall(client, "ProcessSchemaWebhook", request));
    const task = await pipeline.waitTask(text(res, 1));
    expect(task.message).toBe(`schema registry refreshed at ${commit.after.slice(0, 12)}`);
  });
});

describe("gRPC TLS", () => {
  let dir: string;
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

  beforeAll(async () => {
    await grantAcls({ principal: "User:varstream", prefix: "tls" });
    dir = await mkdtemp(join(tmpdir(), "varstream-tls-"));
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      "/CN=test-ca",
    );
    await writeFile(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const name of ["server", "client"]) {
      openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${name}`,
      );
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.crt`,
        "-days",
        "1",
        "-extfile",
        "san.ext",
      );
    }
  });

  const bundle = decodeBundle({
    bundle: {
      platforms: [{ github: { endpoint: "https://github.com", secret: "grpc-test-secret" } }],
      control_plane: { tokens: [{ name: "ops", token: "o".repeat(40), scopes: ["tasks:read"] }] },
    },
  });
  // Production connects to Kafka over SASL_SSL, as it must (a plaintext broker is refused there).
  const settingsFor = (appEnv: string) =>
    loadSettings(
      {
        APP_ENV: appEnv,
        KAFKA_BROKERS: SECURE_KAFKA.sasl,
        KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
        KAFKA_SASL_MECHANISM: "SCRAM-SHA-256",
        KAFKA_SASL_USERNAME: "varstream",
        KAFKA_SASL_PASSWORD: SECURE_KAFKA.users.varstream,
        KAFKA_TLS_CA_FILE: SECURE_KAFKA.ca,
      },
      {
        httpHost: "127.0.0.1",
        httpPort: 0,
        grpcAddr: "127.0.0.1:0",
        topicPrefix: `tls${randomUUID().slice(0, 6)}.`,
        topicPartitions: 1,
      },
    );

  it("APP_ENV=production refuses to start without certificates", async () => {
    delete process.env.TLS_CERT_FILE;
    await expect(
      startIngest({ settings: settingsFor("production"), bundle, logger: createLogger("t", "silent") }),
    ).rejects.toThrow(/requires TLS_CERT_FILE/);
  });

  it("serves mTLS with the given certificates: a client certificate is required", async () => {
    process.env.TLS_CERT_FILE = join(dir, "server.crt");
    process.env.TLS_KEY_FILE = join(dir, "server.key");
    process.env.TLS_CA_FILE = join(dir, "ca.crt");
    try {
      const ingest = await startIngest({
        settings: settingsFor("production"),
        bundle,
        logger: createLogger("t", "silent"),
      });
      try {
        const ca = await readFile(join(dir, "ca.crt"));
        const withCert = new grpc.Client(
          `127.0.0.1:${ingest.grpcPort}`,
          grpc.credentials.createSsl(
            ca,
            await readFile(join(dir, "client.key")),
            await readFile(join(dir, "client.crt")),
          ),
        );
        expect((await rawCall(withCert, "Ping", Buffer.alloc(0))).length).toBe(0);
        withCert.close();
        const without = new grpc.Client(`127.0.0.1:${ingest.grpcPort}`, grpc.credentials.createSsl(ca));
        await expect(rawCall(without, "Ping", Buffer.alloc(0))).rejects.toMatchObject({
          code: grpc.status.UNAVAILABLE,
        });
        without.close();
      } finally {
        await ingest.close();
      }
    } finally {
      delete process.env.TLS_CERT_FILE;
      delete process.env.TLS_KEY_FILE;
      delete process.env.TLS_CA_FILE;
    }
  });
});
