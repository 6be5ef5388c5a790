import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flatten } from "@varstream/shared";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A key claimed by two scopes of one destination is a conflict warning on both tasks. */
describe("two files feeding one destination", () => {
  let repo: GitRepo;
  let out: string;
  let pipeline: Pipeline;
  const dest = `shared-${randomUUID().slice(0, 8)}`;
  const push = async (files: Record<string, string>) => {
    const commit = await repo.commit(files);
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    return pipeline.waitTask(res.body.task_id);
  };

  beforeAll(async () => {
    repo = await GitRepo.create("acme/shared");
    out = await mkdtemp(join(tmpdir(), "varstream-shared-"));
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: out } }],
          rules: [{ platform: "github", datasource: "file", file_patterns: ["*.yaml"], destination_template: dest }],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await repo?.cleanup();
  });

  it("warns both tasks, the later commit wins, and neither file prunes the other", async () => {
    const first = await push({ "a.yaml": "port: 80\nonly_a: 1\n" });
    expect(first).toMatchObject({ state: "SUCCEEDED", warnings: [] });
    const second = await push({ "b.yaml": "port: 8080\nonly_b: 2\n" });
    expect(second.state).toBe("SUCCEEDED");
    const scopeA = `file|${dest}|acme/shared:a.yaml`;
    const scopeB = `file|${dest}|acme/shared:b.yaml`;
    expect(second.warnings).toEqual([`conflict: port at ${dest} is also claimed by ${scopeA}; this commit wins`]);
    const amended = await waitFor(
      async () => {
        const task = await pipeline.task(first.task_id);
        return task?.warnings.length ? task : undefined;
      },
      { what: "the first task hearing of the conflict" },
    );
    expect(amended).toMatchObject({
      state: "SUCCEEDED",
      warnings: [`conflict: port at ${dest} is also claimed by ${scopeB}, whose later commit wins`],
      sinks: { file: { state: "applied", scopes: [expect.objectContaining({ scope: scopeA, set: 2 })] } },
    });
    expect(flatten(JSON.parse(await readFile(join(out, `${dest}.json`), "utf8")))).toEqual({
      only_a: 1,
      only_b: 2,
      port: 8080,
    });
  });
});
