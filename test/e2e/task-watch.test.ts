import { main } from "@varstream/cli";
import { fileSinkBundle, GitRepo, githubPushPayload, githubRequest, Pipeline } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `varstream task watch` as a CI step uses it: per-sink progress, the final state as its exit code, a timeout. */
describe("varstream task watch", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/watched");
    pipeline = await Pipeline.start({ bundle: fileSinkBundle(repo) });
    process.env.VARSTREAM_URL = pipeline.url;
  });
  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("prints each sink's progress, exits 0 on SUCCEEDED and 1 on FAILED", async () => {
    const ok = await pipeline.post(
      "file",
      githubRequest(githubPushPayload(repo, await repo.commit({ "app.json": '{"a": 1}' }))),
    );
    const lines: string[] = [];
    expect(await main(["task", "watch", ok.body.task_id, "--timeout", "60s"], (l) => lines.push(l))).toBe(0);
    expect(lines.at(-1)).toMatch(/^SUCCEEDED/);
    expect(lines.at(-1)).toMatch(/\n {2}file: applied \(1 scope\)/);

    const bad = await pipeline.post(
      "file",
      githubRequest(githubPushPayload(repo, await repo.commit({ "app.json": "{not json" }))),
    );
    expect(await main(["task", "watch", bad.body.task_id, "--timeout", "60s"], () => {})).toBe(1);
  }, 90_000);

  it("exits 3 when the timeout passes before a final state, and refuses a timeout that is not a duration", async () => {
    await pipeline.etl?.close(); // nothing moves the next task on
    pipeline.etl = undefined;
    const stuck = await pipeline.post(
      "file",
      githubRequest(githubPushPayload(repo, await repo.commit({ "app.json": '{"a": 3}' }))),
    );
    const lines: string[] = [];
    expect(await main(["task", "watch", stuck.body.task_id, "--timeout", "1s"], (l) => lines.push(l))).toBe(3);
    expect(lines.at(-1)).toMatch(/timed out/);
    expect(await main(["task", "watch", stuck.body.task_id, "--timeout", "soon"], () => {})).toBe(2);
  }, 30_000);
});
