import { randomUUID } from "node:crypto";
import { SINK_KINDS, type SinkKind } from "@varstream/sinks";
import { loadFixtures, type OpenStore } from "@varstream/sinks/testing";
import { GitRepo, githubPushPayload, githubRequest, Pipeline } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * A key that moves from one file to another in one commit, both files feeding one destination, on
 * every sink of the registry: the file it left must not prune it while the file it joined writes it.
 */
describe("a key moving between two files of one destination in one commit", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  const stores = new Map<SinkKind, OpenStore>();
  const dest = `move-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/move");
    for (const [kind, fixture] of await loadFixtures()) stores.set(kind, await fixture.open());
    pipeline = await Pipeline.start({
      bundle: {
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: SINK_KINDS.map((kind) => ({ [kind]: stores.get(kind)!.config })),
          rules: [
            {
              platform: "github",
              prune: true,
              datasource: [...SINK_KINDS],
              file_patterns: ["*.yaml"],
              destination_template: dest,
            },
          ],
        },
      },
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    for (const store of stores.values()) await store.close();
    await repo?.cleanup();
  });

  it("keeps the key in every sink, whichever way it moves", async () => {
    const push = async (files: Record<string, string>) => {
      const commit = await repo.commit(files);
      const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
      return pipeline.waitTask(res.body.task_id, 60_000);
    };
    expect((await push({ "a.yaml": "a: 1\nmoving: 0\n", "b.yaml": "b: 1\n" })).state).toBe("SUCCEEDED");
    // Back and forth: each commit drops the key from one file and adds it to the other.
    for (let round = 1; round <= 4; round++) {
      const inA = round % 2 === 0;
      const task = await push({
        "a.yaml": `a: 1\n${inA ? `moving: ${round}\n` : ""}`,
        "b.yaml": `b: 1\n${inA ? "" : `moving: ${round}\n`}`,
      });
      expect(task.state).toBe("SUCCEEDED");
      for (const kind of SINK_KINDS) {
        expect(await stores.get(kind)!.view.read(dest), `${kind}, round ${round}`).toEqual({
          a: "1",
          b: "1",
          moving: String(round),
        });
      }
    }
  }, 120_000);
});
