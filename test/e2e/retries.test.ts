import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("an unreachable repository", () => {
  let root: string;
  let good: GitRepo;
  let pipeline: Pipeline;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "varstream-retry-"));
    good = await GitRepo.create("acme/good", root);
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: good.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: join(root, "out") } }],
          rules: [{ platform: "github", datasource: "file", file_name: "app.yaml" }],
        },
      },
      settings: { topicPartitions: 1 }, // one partition: the bad and the good event share it
      etlRetryAttempts: 3,
      etlRetryBaseMs: 600,
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await good?.cleanup();
  });

  it("fails its own task after the retry budget while another repository's events keep flowing", async () => {
    const commit = await good.commit({ "app.yaml": "a: 1\n" });
    const badPayload = githubPushPayload(good, commit);
    badPayload.repository = {
      ...(badPayload.repository as object),
      full_name: "acme/gone",
      clone_url: pathToFileURL(join(root, "acme", "gone")).href,
    };
    const bad = await pipeline.post("file", githubRequest(badPayload));
    const ok = await pipeline.post("file", githubRequest(githubPushPayload(good, commit)));

    const retrying = await waitFor(async () => {
      const doc = await pipeline.task(bad.body.task_id);
      return doc?.message.startsWith("retrying:") ? doc : undefined;
    });
    expect(retrying.state).toBe("RUNNING");
    const okTask = await pipeline.waitTask(ok.body.task_id);
    expect(okTask.state).toBe("SUCCEEDED");
    expect((await pipeline.task(bad.body.task_id))?.state).toBe("RUNNING");

    const badTask = await pipeline.waitTask(bad.body.task_id);
    expect(badTask.state).toBe("FAILED");
    expect(badTask.message).toMatch(/git fetch from .*acme\/gone failed.*gave up after 3 attempts/);
    expect(Date.parse(okTask.finished_at!)).toBeLessThan(Date.parse(badTask.finished_at!));
  });

  it("without an attempt limit, waits out GIT_RETRY_WINDOW and then fails with its code", async () => {
    const windowed = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: good.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: join(root, "out-window") } }],
          rules: [{ platform: "github", datasource: "file", file_name: "app.yaml" }],
        },
      },
      settings: { topicPartitions: 1, gitRetryWindowMs: 2_000 },
      etlRetryAttempts: Number.POSITIVE_INFINITY,
      etlRetryBaseMs: 200,
    });
    try {
      const commit = await good.commit({ "app.yaml": "a: 2\n" });
      const payload = githubPushPayload(good, commit);
      payload.repository = {
        ...(payload.repository as object),
        full_name: "acme/away",
        clone_url: pathToFileURL(join(root, "acme", "away")).href,
      };
      const res = await windowed.post("file", githubRequest(payload));
      const task = await windowed.waitTask(res.body.task_id);
      expect(task.state).toBe("FAILED");
      expect(task.code).toBe("GIT_UNREACHABLE");
      expect(task.message).toMatch(/gave up after \d+ min and \d+ attempts: GIT_RETRY_WINDOW/);
    } finally {
      await windowed.stop();
    }
  });
});
