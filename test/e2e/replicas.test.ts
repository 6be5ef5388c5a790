import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka, createLogger, topicNames } from "@varstream/shared";
import {
  GitRepo,
  githubPushPayload,
  githubRequest,
  Pipeline,
  readCommitted,
  ServiceProcess,
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
    const bundle = {
      bundle: {
        platforms: [{ github: { endpoint: repo.endpoint } }],
        datasources: [{ file: { path: `${repo.root}/out` } }],
        rules: [{ platform: "github", datasource: "file", file_name: "app.json" }],
      },
    };
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
    const replica = new ServiceProcess("etl", name, {
      ...ServiceProcess.env(pipeline.settings, bundlePath),
      GIT_CACHE_DIR: await mkdtemp(join(tmpdir(), `varstream-${name}-`)),
      ETL_SESSION_TIMEOUT: "6s",
      ...extra,
    });
    replicas.push(replica);
    await waitFor(() => replica.lines("etl consuming").length > 0, { what: `${name} consuming`, timeoutMs: 30_000 });
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
    const bundle = {
      bundle: {
        platforms: [{ github: { endpoint: repo.endpoint } }],
        datasources: [{ file: { path: out } }],
        rules: [{ platform: "github", datasource: "file", file_name: "app.json", destination_template: "app" }],
      },
    };
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
    const w = new ServiceProcess("sink-writer", name, {
      ...ServiceProcess.env(pipeline.settings, bundlePath),
      SINK_SESSION_TIMEOUT: "6s",
      ...extra,
    });
    writers.push(w);
    await waitFor(() => w.lines("sink group consuming").length > 0, { what: `${name} consuming`, timeoutMs: 30_000 });
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
