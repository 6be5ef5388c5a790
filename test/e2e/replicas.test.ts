import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka, createLogger, loadSettings, TERMINAL_STATES, topicNames } from "@varstream/shared";
import {
  fileSinkBundle,
  freePort,
  GitRepo,
  githubPushPayload,
  githubRequest,
  Pipeline,
  readCommitted,
  type ServiceName,
  ServiceProcess,
  TEST_KAFKA,
  waitFor,
} from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `T` in /proc/<pid>/stat: the process is stopped (SIGSTOP). */
async function stopped(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
}

/**
 * Two ETL replicas on one group. Replica A stops itself (SIGSTOP) with a chunk's transaction open,
 * stays stopped past its session timeout while replica B takes its partitions over, then resumes:
 * its commit must fail (B fenced its transactional id), and the chunk must be in `read_committed`
 * output exactly once — B's.
 */
describe("ETL replicas: a paused replica that lost its partitions cannot commit", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let bundlePath: string;
  const replicas: ServiceProcess[] = [];

  beforeAll(async () => {
    repo = await GitRepo.create("acme/replicas");
    const bundle = fileSinkBundle(repo);
    bundlePath = join(await mkdtemp(join(tmpdir(), "varstream-replicas-")), "bundle.json");
    await writeFile(bundlePath, JSON.stringify(bundle));
    pipeline = await Pipeline.start({ bundle });
    await pipeline.etl?.close(); // the ETL runs as two processes below
    pipeline.etl = undefined;
  });

  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await pipeline?.stop();
    await repo?.cleanup();
  });

  const etl = async (name: string, extra: Record<string, string> = {}) => {
    const replica = await ServiceProcess.start("etl", name, {
      ...ServiceProcess.env(pipeline.settings, bundlePath),
      GIT_CACHE_DIR: await mkdtemp(join(tmpdir(), `varstream-${name}-`)),
      ETL_SESSION_TIMEOUT: "6s",
      ...extra,
    });
    replicas.push(replica);
    return replica;
  };

  it("the zombie's commit is fenced, the chunk is committed once, and both replicas go on converging", async () => {
    const a = await etl("etl-a", { VARSTREAM_FAULT: "etl-stop-before-commit" });
    const first = await repo.commit({ "app.json": '{"v": 1}' });
    const res = await pipeline.post("file", githubRequest(githubPushPayload(repo, first)));
    expect(res.status).toBe(202);
    await waitFor(() => stopped(a.child.pid!), { what: "replica A stopped with its transaction open" });

    const b = await etl("etl-b");
    // B gets A's partitions once A's session (6 s) expires, fences A's transactional id and redoes the chunk.
    expect((await pipeline.waitTask(res.body.task_id, 60_000)).state).toBe("SUCCEEDED");

    a.signal("SIGCONT");
    // A finishes the chunk in hand (its commit must fail), rejoins, and both replicas keep working.
    const later = [];
    for (let i = 2; i <= 6; i++) {
      const commit = await repo.commit({ "app.json": JSON.stringify({ v: i }) });
      later.push((await pipeline.post("file", githubRequest(githubPushPayload(repo, commit)))).body.task_id);
    }
    for (const id of later) expect((await pipeline.waitTask(id, 60_000)).state).toBe("SUCCEEDED");

    const kafka = createKafka(pipeline.settings, createLogger("test", "silent"));
    const topics = topicNames(pipeline.settings.topicPrefix);
    const keysets = (await readCommitted(kafka, topics.keysets)).filter((r) => r.value);
    const byTask = new Map<string, number>();
    for (const r of keysets) {
      const id = (JSON.parse(r.value!) as { task_id: string }).task_id;
      byTask.set(id, (byTask.get(id) ?? 0) + 1);
    }
    expect(byTask.get(res.body.task_id)).toBe(1);
    for (const id of later) expect(byTask.get(id), id).toBe(1);
    const etlReports = (await readCommitted(kafka, topics.status))
      .map((r) => JSON.parse(r.value ?? "{}") as { component?: string; task_id?: string })
      .filter((r) => r.component === "etl" && r.task_id === res.body.task_id);
    expect(etlReports).toHaveLength(1);
    expect(a.lines("fenced by the partition's new owner").length).toBeGreaterThan(0);
    expect(b.lines("fenced by the partition's new owner")).toEqual([]);
  });
});

/**
 * Two sink writers on one sink's group. Writer A stops itself (SIGSTOP) after planning a key set and
 * before writing it; writer B takes the partition over once A's session (6 s) expires and applies
 * that key set and a newer one. When A resumes, its write must be refused (the store holds a later
 * record), and A must report nothing: the store and the task keep B's outcome.
 */
describe("sink writer replicas: a paused writer that lost its partition cannot write", () => {
  let repo: GitRepo;
  let pipeline: Pipeline;
  let bundlePath: string;
  let out: string;
  const writers: ServiceProcess[] = [];

  beforeAll(async () => {
    repo = await GitRepo.create("acme/sink-replicas");
    out = await mkdtemp(join(tmpdir(), "varstream-sink-replicas-"));
    const bundle = fileSinkBundle(repo, { path: out, destinationTemplate: "app" });
    bundlePath = join(out, "..", `${out.split("/").at(-1)}-bundle.json`);
    await writeFile(bundlePath, JSON.stringify(bundle));
    pipeline = await Pipeline.start({ bundle });
    await pipeline.stopSinkWriter(); // the sink writer runs as two processes below
  });

  afterAll(async () => {
    for (const w of writers) await w.stop();
    await pipeline?.stop();
    await repo?.cleanup();
  });

  const writer = async (name: string, extra: Record<string, string> = {}) => {
    const w = await ServiceProcess.start("sink-writer", name, {
      ...ServiceProcess.env(pipeline.settings, bundlePath),
      SINK_SESSION_TIMEOUT: "6s",
      ...extra,
    });
    writers.push(w);
    return w;
  };
  const stored = async () => JSON.parse(await readFile(join(out, "app.json"), "utf8")) as unknown;

  it("the zombie's write is refused; the store keeps the newer state and the task B's report", async () => {
    const a = await writer("sink-a", { VARSTREAM_FAULT: "sink-stop-before-write" });
    const first = await repo.commit({ "app.json": '{"v": 1}' });
    const one = await pipeline.post("file", githubRequest(githubPushPayload(repo, first)));
    await waitFor(() => stopped(a.child.pid!), { what: "writer A stopped before its write" });

    await writer("sink-b");
    const second = await repo.commit({ "app.json": '{"v": 2}' });
    const two = await pipeline.post("file", githubRequest(githubPushPayload(repo, second)));
    expect((await pipeline.waitTask(two.body.task_id, 60_000)).state).toBe("SUCCEEDED");
    expect(await stored()).toEqual({ v: 2 });

    a.signal("SIGCONT");
    await waitFor(() => a.lines("write refused: the store holds a later record").length > 0, {
      what: "writer A's write to be refused",
      timeoutMs: 30_000,
    });
    // A third change goes through whichever writer owns the partition now: both are alive and converging.
    const third = await repo.commit({ "app.json": '{"v": 3}' });
    const three = await pipeline.post("file", githubRequest(githubPushPayload(repo, third)));
    expect((await pipeline.waitTask(three.body.task_id, 60_000)).state).toBe("SUCCEEDED");
    expect(await stored()).toEqual({ v: 3 });
    // The first task was applied by B; A's refused attempt reported nothing over it.
    const task = await pipeline.waitTask(one.body.task_id, 60_000);
    expect(task.state).toBe("SUCCEEDED");
    expect(JSON.stringify(task)).not.toContain("superseded");
  });
});

/**
 * Two replicas of every service, each its own process, under a stream of commits to several
 * repositories; mid-stream one of each is killed (SIGKILL). Every accepted webhook's task ends in a
 * final state, and every destination holds its repository's last commit.
 */
describe("two replicas of everything, one of each killed mid-stream", () => {
  const repos: GitRepo[] = [];
  let out: string;
  let bundlePath: string;
  const procs: ServiceProcess[] = [];
  const prefix = `trep${Date.now().toString(36)}.`;

  beforeAll(async () => {
    repos.push(await GitRepo.create("acme/r1"));
    for (const name of ["acme/r2", "acme/r3", "acme/r4"]) repos.push(await GitRepo.create(name, repos[0]!.root));
    out = await mkdtemp(join(tmpdir(), "varstream-rep-all-"));
    const bundle = fileSinkBundle(repos[0]!, { path: out, destinationTemplate: "{repo}" });
    bundlePath = join(out, "..", `${out.split("/").at(-1)}-bundle.json`);
    await writeFile(bundlePath, JSON.stringify(bundle));
  });

  afterAll(async () => {
    for (const p of procs) await p.stop();
    for (const r of repos) await r.cleanup();
  });

  const start = async (service: ServiceName, name: string, extra: Record<string, string> = {}) => {
    const env = {
      ...ServiceProcess.env(
        loadSettings({ KAFKA_BROKERS: TEST_KAFKA }, { topicPrefix: prefix, topicPartitions: 3 }),
        bundlePath,
      ),
      GIT_CACHE_DIR: await mkdtemp(join(tmpdir(), `varstream-${name}-`)),
      ETL_SESSION_TIMEOUT: "6s",
      SINK_SESSION_TIMEOUT: "6s",
      ...extra,
    };
    const p = await ServiceProcess.start(service, name, env);
    procs.push(p);
    return p;
  };

  it("every accepted task reaches a final state and every destination converges to its last commit", async () => {
    const ports = [await freePort(), await freePort()];
    const grpc = [await freePort(), await freePort()];
    const ingest = [];
    for (const i of [0, 1]) {
      ingest.push(
        await start("ingest", `ingest-${i}`, {
          HTTP_ADDR: `127.0.0.1:${ports[i]}`,
          ORCHESTRATOR_ADDR: `127.0.0.1:${grpc[i]}`,
        }),
      );
    }
    const etl = [await start("etl", "etl-0"), await start("etl", "etl-1")];
    const writers = [await start("sink-writer", "sink-0"), await start("sink-writer", "sink-1")];
    const alive = new Set([0, 1]);
    const post = async (req: { headers: Record<string, string>; body: string }) => {
      // A load balancer's view: try a live ingest, fall over to the other.
      for (const i of [...alive, ...alive]) {
        try {
          const res = await fetch(`http://127.0.0.1:${ports[i]}/v1/webhooks/file`, {
            method: "POST",
            headers: req.headers,
            body: req.body,
          });
          if (res.status === 202) return { id: ((await res.json()) as { task_id: string }).task_id, via: i };
        } catch {
          // connection refused: that replica is gone
        }
      }
      throw new Error("no ingest accepted the webhook");
    };

    const accepted: { id: string; via: number }[] = [];
    const last = new Map<string, number>();
    for (let round = 1; round <= 10; round++) {
      for (const repo of repos) {
        const commit = await repo.commit({ "app.json": JSON.stringify({ repo: repo.fullName, round }) });
        accepted.push(await post(githubRequest(githubPushPayload(repo, commit))));
        last.set(repo.fullName, round);
      }
      if (round === 4) {
        // Mid-stream: one of each dies like a crashed pod.
        ingest[0]!.signal("SIGKILL");
        alive.delete(0);
        etl[0]!.signal("SIGKILL");
        writers[0]!.signal("SIGKILL");
      }
    }

    const task = async (id: string) => {
      const res = await fetch(`http://127.0.0.1:${ports[1]}/v1/tasks/${id}`);
      return res.status === 200 ? ((await res.json()) as { state: string }) : undefined;
    };
    for (const { id } of accepted) {
      await waitFor(async () => TERMINAL_STATES.has(((await task(id))?.state ?? "PENDING") as never), {
        what: `task ${id} to finish`,
        timeoutMs: 90_000,
      });
    }
    const states = await Promise.all(accepted.map(async ({ id }) => (await task(id))?.state));
    expect(states.filter((s) => s !== "SUCCEEDED")).toEqual([]);
    for (const repo of repos) {
      const file = join(out, `${repo.fullName}.json`);
      await waitFor(
        async () => {
          const text = await readFile(file, "utf8").catch(() => "{}");
          return (JSON.parse(text) as { round?: number }).round === last.get(repo.fullName);
        },
        { what: `${file} to hold the last commit`, timeoutMs: 30_000 },
      );
    }
  }, 240_000);
});
