import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings, type Settings, type TaskDocument, TERMINAL_STATES } from "@varstream/shared";
import type { SinkKind } from "@varstream/sinks";
import { loadFixtures, type OpenStore } from "@varstream/sinks/testing";
import {
  CutProxy,
  githubPushPayload,
  githubRequest,
  type ServiceName,
  ServiceProcess,
  TEST_KAFKA,
  waitFor,
} from "@varstream/testkit";
import type { Workload } from "./workload.ts";

/** A key every destination holds that no manifest does: it must survive every run untouched. */
export const OUTSIDE_KEY = "outside.key";

export interface StackOptions {
  sinks: SinkKind[];
  /** replicas of the ETL and of the sink writer (ingest always runs two) */
  replicas: number;
  sessionTimeout: string;
  /** SINK_RETRY_MAX_BACKOFF: the longest wait between two tries of a store that is down */
  maxBackoff: string;
  kafkaBrokers?: string;
}

/**
 * The pipeline as it is deployed: every service its own process — two ingest replicas and `replicas`
 * ETL and sink-writer replicas on one topic prefix — and each sink's store behind a test proxy that can
 * cut or stall it. Faults are done to it from outside: signals, the proxy, the git host's folder.
 */
export class ChaosStack {
  readonly settings: Settings;
  readonly stores = new Map<SinkKind, { store: OpenStore; proxy: CutProxy | undefined }>();
  readonly processes = new Map<string, ServiceProcess>();
  private readonly options: StackOptions;
  private readonly workload: Workload;
  private bundlePath = "";
  private ingestUrls = new Map<string, string>();
  private turn = 0;
  private planted = false;
  private stopping = false;
  /** processes that exited on their own (a service gives up on a consumer that keeps crashing) */
  readonly exits: string[] = [];
  /** names a fault killed on purpose: its recovery starts them again, not the supervisor */
  readonly killed = new Set<string>();

  private constructor(settings: Settings, options: StackOptions, workload: Workload) {
    this.settings = settings;
    this.options = options;
    this.workload = workload;
  }

  static async start(workload: Workload, options: StackOptions): Promise<ChaosStack> {
    const prefix = `chaos${Date.now().toString(36)}.`;
    const settings = loadSettings(
      { KAFKA_BROKERS: options.kafkaBrokers ?? TEST_KAFKA },
      { topicPrefix: prefix, topicPartitions: 3 },
    );
    const stack = new ChaosStack(settings, options, workload);
    const fixtures = new Map(await loadFixtures());
    for (const kind of options.sinks) {
      let proxy: CutProxy | undefined;
      const store = await fixtures.get(kind)!.open({
        via: async (port) => {
          proxy = await CutProxy.start({ port });
          return proxy.port;
        },
      });
      stack.stores.set(kind, { store, proxy });
    }
    const bundle = {
      bundle: {
        platforms: [{ github: { endpoint: `file://${workload.root}`, insecure_skip_signature: true } }],
        datasources: options.sinks.map((kind) => ({ [kind]: stack.stores.get(kind)!.store.config })),
        rules: [
          {
            platform: "github",
            datasource: [...options.sinks],
            file_patterns: ["*.yaml"],
            prune: true,
            destination_template: "{repo}",
            // The scheduled resyncs run beside the pushes: a repair or a catch-up read before a push
            // must never roll it back.
            self_heal: true,
            reconcile_interval: "4s",
            refetch_interval: "6s",
          },
        ],
      },
    };
    stack.bundlePath = join(await mkdtemp(join(tmpdir(), "varstream-chaos-")), "bundle.json");
    await writeFile(stack.bundlePath, JSON.stringify(bundle));
    for (let i = 0; i < 2; i++) await stack.startService("ingest", `ingest-${i}`);
    for (let i = 0; i < options.replicas; i++) await stack.startService("etl", `etl-${i}`);
    for (let i = 0; i < options.replicas; i++) await stack.startService("sink-writer", `sink-writer-${i}`);
    return stack;
  }

  /** Somebody else's key at every destination (once the first round made the sinks' tables). */
  async plantOutsideKeys(): Promise<void> {
    for (const { store } of this.stores.values()) {
      for (const repo of this.workload.repos) await store.view.plant(repo.fullName, OUTSIDE_KEY, "untouched");
    }
    this.planted = true;
  }

  /** Starts (or starts again) one service process under its name. */
  async startService(service: ServiceName, name: string): Promise<ServiceProcess> {
    const env = {
      ...ServiceProcess.env(this.settings, this.bundlePath),
      HTTP_ADDR: "127.0.0.1:0",
      ORCHESTRATOR_ADDR: "127.0.0.1:0",
      GIT_CACHE_DIR: await mkdtemp(join(tmpdir(), `varstream-chaos-${name}-`)),
      ETL_SESSION_TIMEOUT: this.options.sessionTimeout,
      SINK_SESSION_TIMEOUT: this.options.sessionTimeout,
      SINK_RETRY_MAX_BACKOFF: this.options.maxBackoff,
    };
    const p = await ServiceProcess.start(service, name, env);
    // Like a supervisor (a Deployment): a service that exits on its own is started again.
    p.child.on("exit", () => {
      if (this.stopping || this.killed.delete(name) || this.processes.get(name) !== p) return;
      this.exits.push(name);
      setTimeout(() => {
        if (!this.stopping) void this.startService(service, name).catch(() => undefined);
      }, 1000);
    });
    if (service === "ingest") {
      const url = p.lines("ingest listening")[0]?.url;
      if (typeof url === "string") this.ingestUrls.set(name, url);
    }
    this.processes.set(name, p);
    return p;
  }

  names(service: ServiceName): string[] {
    return [...this.processes.keys()].filter((n) => n.startsWith(`${service}-`));
  }

  /** A live ingest's URL, taking turns. */
  private ingestUrl(): string | undefined {
    const live = [...this.ingestUrls].filter(([name]) => {
      const p = this.processes.get(name);
      return p && p.child.exitCode === null && p.child.signalCode === null;
    });
    if (live.length === 0) return undefined;
    this.turn += 1;
    return live[this.turn % live.length]![1];
  }

  /** Posts a push webhook like a sender that retries until it is accepted; returns the task id. */
  async push(commit: Awaited<ReturnType<Workload["commitAll"]>>[number]): Promise<string> {
    const payload = githubPushPayload(commit.repo.git, {
      before: commit.before,
      after: commit.after,
      added: commit.changed,
      modified: [],
      removed: commit.removed,
    });
    const req = githubRequest(payload);
    return waitFor(
      async () => {
        const url = this.ingestUrl();
        if (!url) return undefined;
        const res = await fetch(`${url}/v1/webhooks/${this.options.sinks[0]}`, {
          method: "POST",
          headers: req.headers,
          body: req.body,
          signal: AbortSignal.timeout(5000),
        }).catch(() => undefined);
        if (res?.status !== 202) return undefined;
        return ((await res.json()) as { task_id: string }).task_id;
      },
      { what: "a webhook accepted", timeoutMs: 120_000, intervalMs: 200 },
    );
  }

  /** A task's document from a live ingest (undefined while no replica knows it). */
  async task(id: string): Promise<TaskDocument | undefined> {
    const url = this.ingestUrl();
    if (!url) return undefined;
    const res = await fetch(`${url}/v1/tasks/${id}`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    return res?.status === 200 ? ((await res.json()) as TaskDocument) : undefined;
  }

  async terminal(id: string): Promise<boolean> {
    const doc = await this.task(id);
    return doc !== undefined && TERMINAL_STATES.has(doc.state);
  }

  /** Every store holds, at every repository's destination, exactly the desired keys plus the outside key. */
  async converged(): Promise<boolean> {
    for (const { store } of this.stores.values()) {
      for (const repo of this.workload.repos) {
        const held = await store.view.read(repo.fullName).catch(() => undefined);
        if (!held) return false;
        const { [OUTSIDE_KEY]: outside, ...rest } = held;
        if (this.planted && outside !== "untouched") return false;
        if (JSON.stringify(sorted(rest)) !== JSON.stringify(sorted(repo.desired))) return false;
      }
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const p of this.processes.values()) await p.stop();
    for (const { store, proxy } of this.stores.values()) {
      await proxy?.close();
      await store.close();
    }
  }
}

function sorted(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => a.localeCompare(b));
}
