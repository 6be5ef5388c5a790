import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SINK_KINDS, type SinkKind } from "@varstream/sinks";
import { loadFixtures, type OpenStore } from "@varstream/sinks/testing";
import { GitRepo, githubPushPayload, githubRequest, Pipeline, waitFor } from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const SINKS = SINK_KINDS;

/**
 * For every sink of the registry, its store from its fixture: a sink-writer process running only that sink dies (SIGKILL) right after writing a
 * chunk, before it reports or commits the offset. The restarted writer gets the same records again.
 */
describe("kill -9 of the sink-writer between the data write and the offset commit", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let bundlePath: string;
  const stores = new Map<SinkKind, OpenStore>();
  const dest = `crash-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    repo = await GitRepo.create("acme/crash");
    for (const [kind, fixture] of await loadFixtures()) stores.set(kind, await fixture.open());
    const bundle = {
      bundle: {
        platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
        datasources: SINKS.map((kind) => ({ [kind]: stores.get(kind)!.config })),
        rules: [
          {
            platform: "github",
            prune: true,
            datasource: [...SINKS],
            file_name: "app.yaml",
            destination_template: dest,
          },
        ],
      },
    };
    bundlePath = join(await mkdtemp(join(tmpdir(), "varstream-crash-")), "bundle.json");
    await writeFile(bundlePath, JSON.stringify(bundle));
    pipeline = await Pipeline.start({ bundle });
    await pipeline.stopSinkWriter();
  });

  afterAll(async () => {
    await pipeline?.stop();
    for (const store of stores.values()) await store.close();
    await repo?.cleanup();
  });

  const stored = (sink: SinkKind) => stores.get(sink)!.view.read(dest);

  it("after restart: the same state in every sink, and the task's counts are those of the one real apply", async () => {
    const commit = await repo.commit({ "app.yaml": "a: 1\nb: 2\nc: 3\n" });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)));
    await waitFor(async () => (await pipeline.task(res.body.task_id))?.state === "RUNNING", { what: "ETL done" });

    // One process per sink, each killed right after its write.
    await Promise.all(
      SINKS.map(async (sink) => {
        const child = spawn(process.execPath, [join(ROOT, "services/sink-writer/src/main.ts")], {
          env: {
            ...process.env,
            CONFIG_PATH: bundlePath,
            SINKS: sink,
            KAFKA_BROKERS: pipeline.settings.kafkaBrokers.join(","),
            TOPIC_PREFIX: pipeline.settings.topicPrefix,
            TOPIC_PARTITIONS: String(pipeline.settings.topicPartitions),
            LOG_LEVEL: "warn",
            VARSTREAM_FAULT: "crash-after-apply",
            OPS_ADDR: "127.0.0.1:0", // one process per sink, side by side
          },
          stdio: "ignore",
        });
        const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
          child.on("exit", (_code, sig) => resolve(sig)),
        );
        expect(signal, sink).toBe("SIGKILL");
        expect(await stored(sink), sink).toEqual({ a: "1", b: "2", c: "3" });
      }),
    );
    expect((await pipeline.task(res.body.task_id))?.state).toBe("RUNNING");

    await pipeline.startSinkWriter();
    const task = await pipeline.waitTask(res.body.task_id, 60_000);
    expect(task.state).toBe("SUCCEEDED");
    for (const sink of SINKS) {
      expect(task.sinks[sink]?.scopes, sink).toEqual([expect.objectContaining({ set: 3, unchanged: 0, pruned: 0 })]);
      expect(await stored(sink), sink).toEqual({ a: "1", b: "2", c: "3" });
    }
  }, 120_000);
});
