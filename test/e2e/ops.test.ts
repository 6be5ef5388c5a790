import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSettings } from "@varstream/shared";
import {
  freePort,
  GitRepo,
  githubPushPayload,
  githubRequest,
  type ServiceName,
  ServiceProcess,
  TEST_KAFKA,
  TestServer,
  waitFor,
} from "@varstream/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** One sample of a Prometheus text exposition: `name{labels} value`, the labels matched as given. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/**
 * The three services as separate processes, the way they are deployed: each serves /metrics and its
 * health endpoints on its own port, and after a webhook the ETL's and the sink writer's metrics show
 * their consumer lag and the webhook→applied latency; a sink whose store does not answer makes the sink
 * writer not ready, with the reason.
 */
describe("every service observable on its own port", () => {
  let repo: GitRepo;
  let out: string;
  let bundlePath: string;
  const procs: ServiceProcess[] = [];
  const prefix = `tops${Date.now().toString(36)}.`;
  const ports = { ingest: 0, etl: 0, writer: 0, grpc: 0, deadRedis: 0 };

  beforeAll(async () => {
    repo = await GitRepo.create("acme/ops");
    out = await mkdtemp(join(tmpdir(), "varstream-ops-"));
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    bundlePath = join(out, "bundle.json");
    await writeFile(
      bundlePath,
      JSON.stringify({
        bundle: {
          platforms: [{ github: { endpoint: repo.endpoint, insecure_skip_signature: true } }],
          datasources: [{ file: { path: join(out, "files") } }, { redis: { tag: "down", port: ports.deadRedis } }],
          rules: [{ platform: "github", datasource: ["file", "redis-down"], file_name: "app.json" }],
        },
      }),
    );
    const env = ServiceProcess.env(
      loadSettings({ KAFKA_BROKERS: TEST_KAFKA }, { topicPrefix: prefix, topicPartitions: 2 }),
      bundlePath,
    );
    const start = async (service: ServiceName, extra: Record<string, string>) => {
      const p = await ServiceProcess.start(service, service, { ...env, ...extra });
      procs.push(p);
    };
    await start("ingest", { HTTP_ADDR: `127.0.0.1:${ports.ingest}`, ORCHESTRATOR_ADDR: `127.0.0.1:${ports.grpc}` });
    await start("etl", {
      OPS_ADDR: `127.0.0.1:${ports.etl}`,
      GIT_CACHE_DIR: await mkdtemp(join(tmpdir(), "varstream-ops-git-")),
    });
    await start("sink-writer", { OPS_ADDR: `127.0.0.1:${ports.writer}` });
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
    await repo?.cleanup();
  });

  const get = async (port: number, path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it("serves metrics, liveness and readiness from ingest, the ETL and the sink writer", async () => {
    for (const port of [ports.ingest, ports.etl, ports.writer]) {
      expect((await get(port, "/health/live")).status).toBe(200);
      const metrics = await get(port, "/metrics");
      expect(metrics.status).toBe(200);
      // the standard process and Node.js names, unprefixed, as the stock dashboards expect
      expect(sample(metrics.text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(metrics.text).toContain("nodejs_eventloop_lag_seconds");
      expect(metrics.text).not.toContain("varstream_process_");
    }
    expect((await get(ports.etl, "/health/ready")).status).toBe(200);

    const commit = await repo.commit({ "app.json": '{"db": {"host": "a"}}' });
    const { headers, body } = githubRequest(githubPushPayload(repo, commit));
    const res = await fetch(`http://127.0.0.1:${ports.ingest}/v1/webhooks/file`, { method: "POST", headers, body });
    expect(res.status).toBe(202);
    // the file sink wrote the destination (`{env}/{file_stem}`)
    await waitFor(
      async () =>
        (await readdir(join(out, "files"), { recursive: true }).catch(() => [])).some((f) => f.endsWith("app.json")),
      { what: "the file sink written" },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${procs.map((p) => `${p.name}: ${p.logs.slice(-3000)}`).join("\n")}`);
    });

    // The ETL caught up on its partition of `webhooks`; the sink writer measured webhook → applied.
    await waitFor(
      async () =>
        sample((await get(ports.etl, "/metrics")).text, "varstream_consumer_lag", {
          group: `${prefix}etl`,
          topic: `${prefix}webhooks`,
        }) === 0,
      { what: "the ETL's lag on webhooks" },
    );
    const writer = (await get(ports.writer, "/metrics")).text;
    // keysets is written in transactions: the commit marker after the last record holds an offset of its
    // own, so a caught-up group shows 1 (as Kafka's own consumer-groups tool does) until the next record.
    expect(sample(writer, "varstream_consumer_lag", { group: `${prefix}sink.file`, topic: `${prefix}keysets` })).toBe(
      1,
    );
    expect(sample(writer, "varstream_end_to_end_seconds_count", { sink: "file" })).toBe(1);
    const seconds = sample(writer, "varstream_end_to_end_seconds_sum", { sink: "file" })!;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(30);

    // The redis datasource's store never answers: the writer keeps its partition waiting and says why.
    await waitFor(async () => (await get(ports.writer, "/health/ready")).status === 503, {
      what: "the sink writer not ready",
    });
    const ready = JSON.parse((await get(ports.writer, "/health/ready")).text) as {
      checks: Record<string, string>;
    };
    expect(ready.checks["file.store"]).toBe("ok");
    expect(ready.checks["redis-down.store"]).toMatch(/unreachable for \d+ s/);
  }, 90_000);

  it("a real Prometheus scrapes all three, and every query of the Grafana dashboard runs against what they export", async () => {
    const prometheus = await TestServer.prometheus({
      ingest: [`127.0.0.1:${ports.ingest}`],
      etl: [`127.0.0.1:${ports.etl}`],
      "sink-writer": [`127.0.0.1:${ports.writer}`],
    });
    try {
      const api = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${prometheus.port}/api/v1/${path}`);
        return (await res.json()) as { status: string; error?: string; data: unknown };
      };
      const instant = async (expr: string) =>
        (await api(`query?query=${encodeURIComponent(expr)}`)) as {
          status: string;
          error?: string;
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
      await waitFor(async () => (await instant("up")).data.result.filter((r) => r.value[1] === "1").length === 3, {
        what: "prometheus scraping the three services",
        timeoutMs: 30_000,
      });
      // the series a platform team alerts on, with the values of the webhook above
      const lag = await instant(`varstream_consumer_lag{group="${prefix}etl"}`);
      expect(lag.data.result.length).toBeGreaterThan(0);
      expect(lag.data.result.every((r) => Number(r.value[1]) === 0)).toBe(true);
      const applied = await instant(`varstream_end_to_end_seconds_count{job="sink-writer",sink="file"}`);
      expect(applied.data.result.map((r) => r.value[1])).toEqual(["1"]);

      // Every dashboard query parses and evaluates, and names only metrics the services really export.
      const dashboard = JSON.parse(await readFile(join(ROOT, "deploy/grafana/varstream.json"), "utf8")) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      const names = new Set((await api("label/__name__/values")).data as string[]);
      const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
      expect(exprs.length).toBeGreaterThan(10);
      for (const { panel, expr } of exprs) {
        const query = expr.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "5m");
        const answer = await instant(query);
        expect(answer.status, `${panel}: ${expr}: ${answer.error}`).toBe("success");
        const used = [...expr.matchAll(/\b((?:varstream|process|nodejs)_[a-z_]+)/g)].map((m) => m[1]!);
        for (const metric of used) expect(names, `${panel} uses ${metric}`).toContain(metric);
      }
    } finally {
      await prometheus.stop();
    }
  }, 90_000);
});
