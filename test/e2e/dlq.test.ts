import { createKafka, createLogger, topicNames } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("poison records", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/dlq");
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: `${repo.root}/out` } }],
          rules: [{ platform: "github", datasource: "file", file_name: "app.json" }],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("sends an undecodable webhook record to dlq.etl with error headers and keeps consuming", async () => {
    const kafka = createKafka(pipeline.settings, createLogger("test", "silent"));
    const topics = topicNames(pipeline.settings.topicPrefix);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topics.webhooks,
      messages: [
        { key: "github/acme/dlq", value: "{not json", headers: { "content-type": "application/json" } },
        {
          key: "github/acme/dlq",
          value: JSON.stringify({ task_id: "x" }),
          headers: { "content-type": "application/json" },
        },
      ],
    });
    await producer.disconnect();

    const commit = await repo.commit({ "app.json": '{"a": {"b": 1}}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    expect((await pipeline.waitTask(res.body.task_id)).state).toBe("SUCCEEDED");

    const consumer = kafka.consumer({ groupId: `${pipeline.settings.topicPrefix}test-dlq` });
    const seen: { value: string; headers: Record<string, string> }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topics.dlq("etl"), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        seen.push({ value: String(message.value), headers });
      },
    });
    await waitFor(() => seen.length >= 2, { what: "two DLQ records" });
    await consumer.disconnect();
    expect(seen.map((s) => s.value)).toEqual(["{not json", '{"task_id":"x"}']);
    expect(seen[0]?.headers).toMatchObject({ "dlq-stage": "etl", "dlq-error-class": "DecodeError" });
    expect(seen[0]?.headers["dlq-error-code"]).toBe("DECODE_ERROR");
    expect(seen[0]?.headers["dlq-error-message"]).toMatch(/not JSON/);
    expect(seen[1]?.headers["dlq-error-message"]).toMatch(/breaks its contract/);
    expect(seen[0]?.headers["dlq-first-seen"]).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
