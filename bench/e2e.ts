/**
 * bench/e2e: N commits of a 20-key YAML file through the whole pipeline (ingest → Kafka → ETL →
 * Kafka → sink-writer) into Redis, all three services in this process against the real broker.
 * Two phases: as fast as ingest accepts (throughput), then paced at RATE changes/s (latency).
 * Prints one JSON line. Usage: node bench/e2e.ts [N] [RATE] [REPOS]   (env KAFKA_BROKERS, REDIS_PORT)
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { TERMINAL_STATES } from "@varstream/shared";
import { githubRequest, Pipeline, TEST_REDIS_PORT, waitFor } from "@varstream/testkit";
import { Redis } from "ioredis";

const FILES_PER_REPO = 4;

interface Change {
  repo: string;
  cloneUrl: string;
  before: string;
  after: string;
  path: string;
}

function yaml(file: number, version: number): string {
  const lines = [`service: svc-${file}`, `version: ${version}`, `replicas: ${(version % 5) + 1}`];
  for (let i = 0; i < 17; i++) lines.push(`setting_${i}: value-${file}-${i}${i === version % 17 ? `-${version}` : ""}`);
  return `${lines.join("\n")}\n`;
}

/** Makes `count` commits in one repository with git fast-import (fast enough to prepare 10,000). */
function makeCommits(dir: string, fullName: string, count: number): Change[] {
  execFileSync("git", ["init", "-q", "--initial-branch=main", dir]);
  let stream = "";
  for (let c = 0; c < count; c++) {
    const file = c % FILES_PER_REPO;
    const content = yaml(file, c);
    const msg = `change ${c}`;
    stream += `commit refs/heads/main\ncommitter bench <bench@varstream.invalid> ${1_700_000_000 + c} +0000\n`;
    stream += `data ${Buffer.byteLength(msg)}\n${msg}\nM 100644 inline config/svc-${file}.yaml\n`;
    stream += `data ${Buffer.byteLength(content)}\n${content}\n`;
  }
  execFileSync("git", ["-C", dir, "fast-import", "--quiet"], { input: stream, maxBuffer: 1 << 30 });
  const shas = execFileSync("git", ["-C", dir, "rev-list", "--reverse", "main"], { encoding: "utf8" })
    .trim()
    .split("\n");
  const cloneUrl = pathToFileURL(dir).href;
  return shas.map((after, c) => ({
    repo: fullName,
    cloneUrl,
    before: c === 0 ? "0".repeat(40) : shas[c - 1]!,
    after,
    path: `config/svc-${c % FILES_PER_REPO}.yaml`,
  }));
}

function payload(change: Change) {
  return {
    ref: "refs/heads/main",
    before: change.before,
    after: change.after,
    repository: { full_name: change.repo, clone_url: change.cloneUrl },
    commits: [{ id: change.after, added: [], removed: [], modified: [change.path] }],
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function drive(pipeline: Pipeline, streams: Change[][], ratePerSec: number | undefined) {
  const taskIds: string[] = [];
  const started = performance.now();
  let sent = 0;
  await Promise.all(
    streams.map(async (changes) => {
      // One repository's pushes go in order, as a git host sends them.
      for (const change of changes) {
        if (ratePerSec !== undefined) {
          const due = started + (sent++ / ratePerSec) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const res = await pipeline.post("redis", githubRequest(payload(change)));
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(res.body)}`);
        taskIds.push(res.body.task_id);
      }
    }),
  );
  const acceptedMs = performance.now() - started;
  const store = pipeline.ingest!.store;
  await waitFor(() => taskIds.every((id) => TERMINAL_STATES.has(store.get(id)?.state ?? "PENDING")), {
    timeoutMs: 600_000,
    intervalMs: 20,
    what: "every task to finish",
  });
  const appliedMs = performance.now() - started;
  const docs = taskIds.map((id) => store.get(id)!);
  const failed = docs.filter((d) => d.state !== "SUCCEEDED");
  if (failed.length > 0) throw new Error(`${failed.length} tasks did not succeed: ${failed[0]?.message}`);
  const latencies = docs.map((d) => d.duration_ms ?? Number.NaN).sort((a, b) => a - b);
  const stages = taskIds.map((id) => store.reportsOf(id)!);
  const etlMs = stages.map((r) => Date.parse(r.etl!.at) - Date.parse(r.ingest!.at)).sort((a, b) => a - b);
  return {
    changes: taskIds.length,
    accepted_per_s: Math.round((taskIds.length / acceptedMs) * 1000),
    changes_per_s: Math.round((taskIds.length / appliedMs) * 1000),
    latency_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
    to_etl_ms: { p50: percentile(etlMs, 50), p99: percentile(etlMs, 99) },
  };
}

export async function runE2eBench(n: number, rate: number, repos = 32) {
  const root = await mkdtemp(join(tmpdir(), "varstream-bench-"));
  const perRepo = Math.max(1, Math.ceil(n / repos));
  const streams = Array.from({ length: repos }, (_, r) =>
    makeCommits(join(root, "bench", `repo-${r}`), `bench/repo-${r}`, perRepo * 2),
  );
  const dest = `bench-${randomUUID().slice(0, 8)}`;
  const pipeline = await Pipeline.start({
    bundle: {
      bundle: {
        platforms: [{ github: { endpoint: pathToFileURL(root).href, insecure_skip_signature: true } }],
        datasources: [{ redis: { port: TEST_REDIS_PORT } }],
        rules: [
          {
            platform: "github",
            datasource: "redis",
            repositories: ["bench/*"],
            file_patterns: ["config/*.yaml"],
            prune: true,
            destination_template: `${dest}:{repo}:{file_stem}`,
          },
        ],
      },
    },
    settings: { topicPartitions: 6, logLevel: "warn", gitCacheMaxEntries: repos * 2 },
  });
  const redis = new Redis({ port: TEST_REDIS_PORT });
  try {
    // Phase 1: the first half of every repository's commits, as fast as they are accepted.
    const throughput = await drive(
      pipeline,
      streams.map((s) => s.slice(0, perRepo)),
      undefined,
    );
    // Phase 2: the second half, paced.
    const paced = await drive(
      pipeline,
      streams.map((s) => s.slice(perRepo)),
      rate,
    );
    const last = streams[0]!.at(-1)!;
    const version = await redis.hget(`${dest}:bench/repo-0:svc-${(perRepo * 2 - 1) % FILES_PER_REPO}`, "version");
    if (version !== String(perRepo * 2 - 1))
      throw new Error(`redis holds version ${version}, want ${perRepo * 2 - 1} (${last.after})`);
    const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
    return {
      bench: "e2e",
      keys_per_file: 20,
      repos,
      throughput,
      paced: { rate_per_s: rate, ...paced },
      rss_mb_all_services: rss,
    };
  } finally {
    redis.disconnect();
    await pipeline.stop();
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.argv[2] ?? 2000);
  const rate = Number(process.argv[3] ?? 100);
  const repos = Number(process.argv[4] ?? 32);
  const result = await runE2eBench(n, rate, repos);
  console.log(JSON.stringify(result));
  process.exit(0);
}
