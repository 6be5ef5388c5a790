import { fileSinkBundle, GitRepo, githubPushPayload, githubRequest, Pipeline, traceToMemory } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * One task, one trace: ingest starts it, its W3C trace context travels in the `webhooks` record's
 * headers to the ETL, and in each `keysets` record's headers to the sink's apply. The three services
 * run in one process here, but their spans meet only through those headers (each consumer's callbacks
 * run outside the producer's context).
 */
describe("tracing across the pipeline", () => {
  const tracing = traceToMemory();
  let repo: GitRepo;
  let pipeline: Pipeline;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/traced");
    pipeline = await Pipeline.start({ bundle: fileSinkBundle(repo) });
  });
  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("the spans of one task in ingest, the ETL and the sink writer share one trace, each the child of the one before", async () => {
    const commit = await repo.commit({ "app.json": '{"db": {"host": "a"}}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    expect(res.status).toBe(202);
    const task = await pipeline.waitTask(res.body.task_id, 60_000);
    expect(task.state).toBe("SUCCEEDED");

    const mine = tracing.spans().filter((s) => s.attributes["varstream.task_id"] === res.body.task_id);
    const byName = (name: string) => mine.find((s) => s.name === name);
    const ingest = byName("varstream.ingest publish");
    const etl = byName("varstream.etl process");
    const sink = byName("varstream.sink apply");
    expect(ingest, "the ingest span").toBeDefined();
    expect(etl, "the ETL span").toBeDefined();
    expect(sink, "the sink span").toBeDefined();
    const traceId = ingest!.spanContext().traceId;
    expect(etl!.spanContext().traceId).toBe(traceId);
    expect(sink!.spanContext().traceId).toBe(traceId);
    expect(etl!.parentSpanContext?.spanId).toBe(ingest!.spanContext().spanId);
    expect(sink!.parentSpanContext?.spanId).toBe(etl!.spanContext().spanId);
    expect(sink!.attributes).toMatchObject({ "varstream.sink": "file", "varstream.outcome": "applied" });

    // another task is another trace
    const second = await pipeline.post(
      "file",
      githubRequest(githubPushPayload(repo, await repo.commit({ "app.json": "{}" }))),
    );
    await pipeline.waitTask(second.body.task_id, 60_000);
    const other = tracing.spans().find((s) => s.attributes["varstream.task_id"] === second.body.task_id);
    expect(other?.spanContext().traceId).not.toBe(traceId);
  }, 90_000);
});
