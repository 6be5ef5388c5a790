import { randomUUID } from "node:crypto";
import type { Bundle, PlatformEntry } from "@varstream/bundle";
import { detectPlatform, eventHeaders, type Normalization, PLATFORMS, PlatformError } from "@varstream/platforms";
import {
  ApiError,
  type DryRunReport,
  type IngestReport,
  ingestReport,
  type Logger,
  metrics,
  type PipelineEvent,
  ResyncEvent,
  SCHEMA_REGISTRY_DATASOURCE,
  SecretError,
  type Secrets,
  WebhookEvent,
} from "@varstream/shared";
import type { DryRunner } from "./dry-run.ts";
import type { EventPublisher } from "./publisher.ts";
import type { TaskStore } from "./tasks/task-store.ts";

export interface IntakeRequest {
  datasource: string;
  /** lower-case header names */
  headers: Record<string, string | undefined>;
  body: Buffer;
  contentType: string;
  source: "http" | "grpc";
  /** a platform name from the bundle; else the first platform of the detected kind */
  platformName?: string;
}

export type IntakeResult =
  | { status: 202; body: { task_id: string; message: "accepted" | "duplicate delivery"; received_at: string } }
  | { status: 200; body: { message: "ignored"; reason: string } };

export interface IntakeDeps {
  dryRunner?: DryRunner;
  bundle: Bundle;
  secrets: Secrets;
  store: TaskStore;
  publisher: EventPublisher;
  logger: Logger;
}

/** The platform a request came from, with its event name and delivery id. */
type Detected = NonNullable<ReturnType<typeof detectPlatform>>;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseBody(body: Buffer, contentType: string): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiError("BAD_JSON", "request body is not valid UTF-8");
  }
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    const payload = new URLSearchParams(text).get("payload");
    if (payload === null) throw new ApiError("BAD_JSON", "form body has no payload field");
    text = payload;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError("BAD_JSON", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function toEvent(
  req: IntakeRequest,
  normalized: Extract<Normalization, { kind: "event" }>,
  deliveryId: string,
  dryRun: boolean,
): WebhookEvent {
  return WebhookEvent.parse({
    ...normalized.payload,
    task_id: randomUUID(),
    delivery_id: deliveryId,
    source: req.source,
    datasource: req.datasource,
    received_at: new Date().toISOString(),
    dry_run: dryRun,
  });
}

function pickPlatform(bundle: Bundle, kind: string, name?: string): PlatformEntry {
  if (name !== undefined) {
    const entry = bundle.platforms.get(name);
    if (!entry || entry.kind !== kind) {
      throw new ApiError("UNSUPPORTED_EVENT", `platform ${name} is not a configured ${kind} platform`);
    }
    return entry;
  }
  for (const entry of bundle.platforms.values()) if (entry.kind === kind) return entry;
  throw new ApiError("UNSUPPORTED_EVENT", `no ${kind} platform is configured`);
}

/**
 * The webhook path shared by HTTP and gRPC: datasource → platform → signature → JSON → normalize →
 * dedupe → publish. Throws {@link ApiError} for every rejection; nothing is published before the end.
 */
export class WebhookIntake {
  private readonly deps: IntakeDeps;
  private readonly inFlight = new Map<string, Promise<IntakeResult>>();

  constructor(deps: IntakeDeps) {
    this.deps = deps;
  }

  /**
   * Datasource, platform, signature, JSON and normalization: everything a webhook must pass before it
   * is published (or dry-run). Throws {@link ApiError} for every rejection.
   */
  private async verify(req: IntakeRequest): Promise<{ detected: Detected; normalized: Normalization }> {
    try {
      return await this.check(req);
    } catch (err) {
      if (err instanceof PlatformError) throw new ApiError(err.code, err.message, err.details);
      throw err;
    }
  }

  private async check(req: IntakeRequest): Promise<{ detected: Detected; normalized: Normalization }> {
    const { bundle } = this.deps;
    const registry = req.datasource === SCHEMA_REGISTRY_DATASOURCE ? bundle.schemaRegistry : undefined;
    if (!bundle.datasources.has(req.datasource) && !registry) {
      throw new ApiError("UNKNOWN_DATASOURCE", `no datasource named ${req.datasource}`);
    }
    const detected = detectPlatform(req.headers);
    if (!detected) {
      throw new ApiError("UNSUPPORTED_EVENT", `no ${eventHeaders()} header`);
    }
    const adapter = PLATFORMS[detected.platform];
    const platform = pickPlatform(bundle, detected.platform, req.platformName ?? registry?.platform);
    if (platform.config.secret !== undefined) {
      let secret: string;
      try {
        secret = await this.deps.secrets.resolve(platform.config.secret);
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        this.deps.logger.error({ platform: platform.name, err: err.message }, "webhook secret unavailable");
        throw new ApiError("SECRET_UNAVAILABLE", `webhook secret of platform ${platform.name}: ${err.message}`);
      }
      if (!adapter.verify(secret, req.body, req.headers)) {
        metrics.webhooks.inc({ outcome: "rejected", platform: detected.platform });
        throw new ApiError("SIGNATURE_INVALID");
      }
    }
    const payload = parseBody(req.body, req.contentType);
    const normalized = adapter.normalize(detected.eventName, payload);
    if (normalized.kind === "ignored") metrics.webhooks.inc({ outcome: "ignored", platform: detected.platform });
    return { detected, normalized };
  }

  async handle(req: IntakeRequest): Promise<IntakeResult> {
    const { detected, normalized } = await this.verify(req);
    if (normalized.kind === "ignored") return { status: 200, body: { message: "ignored", reason: normalized.reason } };
    const deliveryId = detected.deliveryId ?? "";
    if (deliveryId === "") return this.accept(req, normalized, deliveryId);
    const dedupeKey = `${req.datasource}/${deliveryId}`;
    const known = this.deps.store.findDelivery(req.datasource, deliveryId);
    if (known !== undefined) return this.duplicate(known, detected.platform);
    const running = this.inFlight.get(dedupeKey);
    if (running !== undefined) {
      const first = await running;
      if (first.status === 202) return this.duplicate(first.body.task_id, detected.platform);
    }
    const attempt = this.accept(req, normalized, deliveryId);
    this.inFlight.set(dedupeKey, attempt);
    try {
      return await attempt;
    } finally {
      this.inFlight.delete(dedupeKey);
    }
  }

  /**
   * Resync: a task that re-emits the desired key sets of a datasource, optionally of one
   * env, in `repair` mode. The same path serves HTTP, gRPC TriggerSync/SyncDatasource and the CLI.
   */
  async resync(request: {
    datasource: string;
    env?: string;
    platform?: string;
    tenant?: string;
    reason?: string;
    refetch?: boolean;
    source: "http" | "grpc" | "cli";
  }): Promise<{ task_id: string; received_at: string }> {
    if (!this.deps.bundle.datasources.has(request.datasource)) {
      throw new ApiError("UNKNOWN_DATASOURCE", `no datasource named ${request.datasource}`);
    }
    const receivedAt = new Date().toISOString();
    const taskId = randomUUID();
    const filters = Object.fromEntries(
      Object.entries({ env: request.env, platform: request.platform, tenant: request.tenant }).filter(
        ([, v]) => v !== undefined && v !== "",
      ),
    );
    const event = ResyncEvent.parse({
      kind: "resync",
      task_id: taskId,
      source: request.source,
      datasource: request.datasource,
      filters,
      refetch: request.refetch ?? false,
      ...(request.reason ? { reason: request.reason } : {}),
      received_at: receivedAt,
    });
    const report = ingestReport.resync(event);
    await this.publish(event, report);
    this.deps.logger.info({ task_id: taskId, datasource: request.datasource, filters }, "resync accepted");
    return { task_id: taskId, received_at: receivedAt };
  }

  /** Publishes an event with its task's first report; the task is visible here at once. */
  private async publish(event: PipelineEvent, report: IngestReport): Promise<void> {
    try {
      await this.deps.publisher.publish(event, report);
    } catch (err) {
      this.deps.logger.error({ err, task_id: event.task_id }, "broker did not acknowledge the event");
      metrics.webhooks.inc({ outcome: "unavailable", platform: report.platform ?? "none" });
      throw new ApiError("BROKER_UNAVAILABLE");
    }
    this.deps.store.apply(report);
  }

  private duplicate(taskId: string, platform: string): IntakeResult {
    metrics.webhooks.inc({ outcome: "duplicate", platform });
    const received = this.deps.store.get(taskId)?.created_at ?? new Date().toISOString();
    return { status: 202, body: { task_id: taskId, message: "duplicate delivery", received_at: received } };
  }

  /**
   * Dry-run: the same checks, then ETL in this process and a diff against each sink's
   * current state. Publishes nothing and writes nothing.
   */
  async dryRun(req: IntakeRequest): Promise<DryRunReport | { message: "ignored"; reason: string }> {
    if (!this.deps.dryRunner) throw new ApiError("NOT_READY", "dry-run is not available in this process");
    const { normalized } = await this.verify(req);
    if (normalized.kind === "ignored") return { message: "ignored", reason: normalized.reason };
    return this.deps.dryRunner.run(toEvent(req, normalized, "", true));
  }

  private async accept(
    req: IntakeRequest,
    normalized: Extract<Normalization, { kind: "event" }>,
    deliveryId: string,
  ): Promise<IntakeResult> {
    const event = toEvent(req, normalized, deliveryId, false);
    const receivedAt = event.received_at;
    const report = ingestReport.webhook(event);
    await this.publish(event, report);
    metrics.webhooks.inc({ outcome: "accepted", platform: event.platform });
    this.deps.logger.info(
      { task_id: event.task_id, delivery_id: deliveryId, repo: event.repo.full_name, after: event.after },
      "webhook accepted",
    );
    return { status: 202, body: { task_id: event.task_id, message: "accepted", received_at: receivedAt } };
  }
}
