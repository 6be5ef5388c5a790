import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bundle, decodeBundle } from "@varstream/bundle";
import { type EtlService, startEtl } from "@varstream/etl";
import { type IngestService, startIngest } from "@varstream/ingest";
import { createLogger, loadSettings, type Settings, type TaskDocument, TERMINAL_STATES } from "@varstream/shared";
import { type SinkWriterService, startSinkWriter } from "@varstream/sink-writer";
import type { SignedRequest } from "./github.ts";
import { waitFor } from "./wait.ts";

export const TEST_KAFKA = process.env.KAFKA_BROKERS ?? "127.0.0.1:39092";
export const TEST_REDIS_PORT = Number(process.env.REDIS_PORT ?? 36379);
/** The test schema registry's Confluent API (Apicurio, started by scripts/test.sh). */
export const TEST_SCHEMA_REGISTRY = `http://127.0.0.1:${process.env.REGISTRY_PORT ?? 38081}/apis/ccompat/v7`;
/**
 * TEST_SCHEMA_REGISTRY_EVERYWHERE=1 (a CI lane): every test pipeline frames its values through the test
 * registry, so each scenario also runs on registry-framed topics.
 */
const REGISTRY_ENV: Record<string, string> =
  process.env.TEST_SCHEMA_REGISTRY_EVERYWHERE === "1" ? { KAFKA_SCHEMA_REGISTRY_URL: TEST_SCHEMA_REGISTRY } : {};

/** Any answer of the webhook route; tests assert which fields are there. */
export interface WebhookAnswer {
  task_id: string;
  message?: string;
  reason?: string;
  received_at?: string;
  error?: { code: string; message: string; details?: unknown };
}

export interface PipelineOptions {
  /** a bundle document (`{bundle: {…}}`), decoded strictly like a file */
  bundle: unknown;
  settings?: Partial<Settings>;
  /** settings of one service over `settings` (e.g. one service without the schema registry) */
  serviceSettings?: { ingest?: Partial<Settings>; etl?: Partial<Settings>; sinkWriter?: Partial<Settings> };
  /** environment the settings are read from, over the test broker's address (e.g. KAFKA_SASL_*) */
  env?: Record<string, string>;
  etlRetryAttempts?: number;
  etlRetryBaseMs?: number;
  /** a service's unrecoverable error (default: the service's own, which exits the process) */
  onFatal?: (err: Error) => void;
  /** where every service logs (default stdout) */
  logStream?: NodeJS.WritableStream;
  /** the control-plane token `task()` sends, when the bundle declares tokens */
  token?: string;
}

/** The three services in this process against the real broker, isolated by a topic prefix of their own. */
export class Pipeline {
  readonly settings: Settings;
  readonly bundle: Bundle;
  ingest: IngestService | undefined;
  etl: EtlService | undefined;
  sinkWriter: SinkWriterService | undefined;
  private readonly options: PipelineOptions;

  private constructor(settings: Settings, bundle: Bundle, options: PipelineOptions) {
    this.settings = settings;
    this.bundle = bundle;
    this.options = options;
  }

  static async start(options: PipelineOptions): Promise<Pipeline> {
    const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}.`;
    const settings = loadSettings(
      { KAFKA_BROKERS: TEST_KAFKA, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn", ...REGISTRY_ENV, ...options.env },
      {
        topicPrefix: prefix,
        topicPartitions: 3,
        httpHost: "127.0.0.1",
        httpPort: 0,
        grpcAddr: "127.0.0.1:0",
        gitCacheDir: await mkdtemp(join(tmpdir(), "varstream-gitcache-")),
        sinkMaxRetries: 2,
        sinkRetryMaxBackoffMs: 2000,
        ...options.settings,
      },
    );
    const pipeline = new Pipeline(settings, decodeBundle(options.bundle), options);
    await pipeline.startIngest();
    await pipeline.startEtl();
    await pipeline.startSinkWriter();
    return pipeline;
  }

  get url(): string {
    if (!this.ingest) throw new Error("ingest is not running");
    return this.ingest.url;
  }

  async startIngest(): Promise<void> {
    this.ingest = await startIngest({
      settings: { ...this.settings, ...this.options.serviceSettings?.ingest },
      bundle: this.bundle,
      logger: createLogger("ingest", this.settings.logLevel, this.options.logStream),
    });
  }

  async startEtl(): Promise<void> {
    this.etl = await startEtl({
      settings: { ...this.settings, ...this.options.serviceSettings?.etl },
      bundle: this.bundle,
      logger: createLogger("etl", this.settings.logLevel, this.options.logStream),
      retryAttempts: this.options.etlRetryAttempts ?? 3,
      retryBaseMs: this.options.etlRetryBaseMs ?? 50,
      ...(this.options.onFatal ? { onFatal: this.options.onFatal } : {}),
    });
  }

  async startSinkWriter(): Promise<void> {
    this.sinkWriter = await startSinkWriter({
      settings: { ...this.settings, ...this.options.serviceSettings?.sinkWriter },
      bundle: this.bundle,
      logger: createLogger("sink-writer", this.settings.logLevel, this.options.logStream),
      retryBaseMs: 50,
      ...(this.options.onFatal ? { onFatal: this.options.onFatal } : {}),
    });
  }

  async stopSinkWriter(): Promise<void> {
    await this.sinkWriter?.close();
    this.sinkWriter = undefined;
  }

  /** POSTs a webhook; returns the HTTP status and JSON body. */
  async post(datasource: string, req: SignedRequest, path = ""): Promise<{ status: number; body: WebhookAnswer }> {
    const res = await fetch(`${this.url}/v1/webhooks/${datasource}${path}`, {
      method: "POST",
      headers: req.headers,
      body: req.body,
    });
    return { status: res.status, body: (await res.json()) as WebhookAnswer };
  }

  async task(id: string): Promise<TaskDocument | undefined> {
    const res = await fetch(`${this.url}/v1/tasks/${id}`, {
      headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
    });
    if (res.status === 404) return undefined;
    return (await res.json()) as TaskDocument;
  }

  /** Waits until the task reaches a terminal state and returns its document. */
  waitTask(id: string, timeoutMs = 30_000): Promise<TaskDocument> {
    return waitFor(
      async () => {
        const doc = await this.task(id);
        return doc && TERMINAL_STATES.has(doc.state) ? doc : undefined;
      },
      { timeoutMs, what: `task ${id} to finish` },
    );
  }

  async stop(): Promise<void> {
    await this.sinkWriter?.close();
    await this.etl?.close();
    await this.ingest?.close();
  }
}
