import { randomUUID } from "node:crypto";
import { type Bundle, type PlatformEntry, resolveDatasource } from "@varstream/bundle";
import { cloneUrlOfRepository } from "@varstream/pipeline";
import { detectPlatform, eventHeaders, type Normalization, PLATFORMS, PlatformError } from "@varstream/platforms";
import {
  ApiError,
  type DryRunReport,
  type IngestReport,
  ingestReport,
  inSpan,
  isResync,
  type Logger,
  metrics,
  type PipelineEvent,
  ResyncEvent,
  SCHEMA_REGISTRY_DATASOURCE,
  SecretError,
  type Secrets,
  SpanKind,
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
  /** deliveries older than this (by a signed push time) are refused: the dedupe index forgets them */
  dedupeWindowMs?: number;
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

/** The entries a request may come from: the one it is bound to (`?platform=`), or every entry of its kind. */
function candidates(bundle: Bundle, kind: string, name?: string): PlatformEntry[] {
  // A gateway names the platform by its kind alone ("github", any case) as often as by an entry's
  // name: a kind means every entry of that kind (the untagged entry is named like its kind), and the
  // secret that verifies the delivery picks among them.
  if (name !== undefined && name.toLowerCase() !== kind) {
    const entry = bundle.platforms.get(name);
    if (!entry || entry.kind !== kind) {
      throw new ApiError("UNSUPPORTED_EVENT", `platform ${name} is not a configured ${kind} platform`);
    }
    return [entry];
  }
  const entries = [...bundle.platforms.values()].filter((e) => e.kind === kind);
  if (entries.length === 0) throw new ApiError("UNSUPPORTED_EVENT", `no ${kind} platform is configured`);
  return entries;
}

/** GitHub signs the push time (`repository.pushed_at`, seconds) with the body; the others send none. */
function signedPushTime(payload: unknown): number | undefined {
  const pushedAt = (payload as { repository?: { pushed_at?: unknown } } | null)?.repository?.pushed_at;
  return typeof pushedAt === "number" && Number.isFinite(pushedAt) ? pushedAt * 1000 : undefined;
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
    // The schema registry's webhooks come from its own platform entry, whatever the request names.
    const entries = candidates(bundle, detected.platform, registry ? registry.platform : req.platformName);
    // The entry is one whose secret verifies the delivery, never one the request names alone.
    const verifiedAll: PlatformEntry[] = [];
    for (const entry of entries) {
      if (entry.config.secret === undefined) continue;
      let secret: string;
      try {
        secret = await this.deps.secrets.resolve(entry.config.secret);
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        this.deps.logger.error({ platform: entry.name, err: err.message }, "webhook secret unavailable");
        throw new ApiError("SECRET_UNAVAILABLE", `webhook secret of platform ${entry.name}: ${err.message}`);
      }
      if (adapter.verify(secret, req.body, req.headers)) verifiedAll.push(entry);
    }
    let verified = verifiedAll[0];
    const unsigned = entries.filter((e) => e.config.secret === undefined && e.config.insecure_skip_signature);
    if (!verified && unsigned.length === 0) {
      metrics.webhooks.inc({ outcome: "rejected", platform: detected.platform });
      throw new ApiError("SIGNATURE_INVALID");
    }
    const payload = parseBody(req.body, req.contentType);
    const normalized = adapter.normalize(detected.eventName, payload);
    if (normalized.kind === "ignored") {
      metrics.webhooks.inc({ outcome: "ignored", platform: detected.platform });
      return { detected, normalized };
    }
    const { repo } = normalized.payload;
    // Entries sharing a secret: the one whose endpoint holds the repository.
    verified = verifiedAll.find((e) => cloneUrlOfRepository(e, repo.clone_url, repo.full_name)) ?? verified;
    // An unsigned delivery is only taken by an insecure entry whose endpoint holds its repository.
    const entry = verified ?? unsigned.find((e) => cloneUrlOfRepository(e, repo.clone_url, repo.full_name));
    if (!entry && !verified) {
      metrics.webhooks.inc({ outcome: "rejected", platform: detected.platform });
      throw new ApiError("SIGNATURE_INVALID");
    }
    if (!entry || !cloneUrlOfRepository(entry, repo.clone_url, repo.full_name)) {
      metrics.webhooks.inc({ outcome: "rejected", platform: detected.platform });
      throw new ApiError(
        "CLONE_URL_REFUSED",
        `clone url ${repo.clone_url} is not ${repo.full_name} under platform ${verified?.name}'s endpoint`,
      );
    }
    const pushedAt = signedPushTime(payload);
    const windowMs = this.deps.dedupeWindowMs;
    if (entry === verified && pushedAt !== undefined && windowMs !== undefined && Date.now() - pushedAt > windowMs) {
      metrics.webhooks.inc({ outcome: "rejected", platform: detected.platform });
      throw new ApiError(
        "DELIVERY_EXPIRED",
        `pushed at ${new Date(pushedAt).toISOString()}, outside the dedupe window`,
      );
    }
    return {
      detected,
      normalized: { kind: "event", payload: { ...normalized.payload, platform_name: entry.name } },
    };
  }

  async handle(request: IntakeRequest): Promise<IntakeResult> {
    // A datasource is addressed by its name or, as varTrack allows, by its bare tag.
    const named = resolveDatasource(request.datasource, this.deps.bundle.datasources);
    const req = named && named !== request.datasource ? { ...request, datasource: named } : request;
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
    source: "http" | "grpc" | "cli" | "resync";
    /** the control-plane token's name (or `anonymous`), recorded on the event and its first report */
    requestedBy?: string;
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
      ...(request.requestedBy ? { requested_by: request.requestedBy } : {}),
      received_at: receivedAt,
    });
    const report = ingestReport.resync(event);
    await this.publish(event, report);
    this.deps.logger.info(
      { task_id: taskId, datasource: request.datasource, filters, requested_by: request.requestedBy },
      "resync accepted",
    );
    return { task_id: taskId, received_at: receivedAt };
  }

  /** Publishes an event with its task's first report; the task is visible here at once. */
  private async publish(event: PipelineEvent, report: IngestReport): Promise<void> {
    try {
      // A task's trace starts here; its context travels in the event record's headers.
      await inSpan(
        "varstream.ingest publish",
        { "varstream.task_id": event.task_id, "varstream.event": isResync(event) ? "resync" : "webhook" },
        () => this.deps.publisher.publish(event, report),
        undefined,
        SpanKind.PRODUCER,
      );
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
  async dryRun(
    req: IntakeRequest,
    requestedBy = "anonymous",
  ): Promise<DryRunReport | { message: "ignored"; reason: string }> {
    if (!this.deps.dryRunner) throw new ApiError("NOT_READY", "dry-run is not available in this process");
    const { normalized } = await this.verify(req);
    if (normalized.kind === "ignored") return { message: "ignored", reason: normalized.reason };
    const event = toEvent(req, normalized, "", true);
    const report = await this.deps.dryRunner.run(event);
    // Who looked at which stored values: recorded like every control action.
    await this.deps.publisher
      .audit({
        component: "control",
        task_id: event.task_id,
        action: "dry-run",
        requested_by: requestedBy,
        datasource: req.datasource,
        detail: `${event.repo.full_name}@${event.after.slice(0, 12)}`,
        at: new Date().toISOString(),
      })
      .catch((err: Error) => {
        this.deps.logger.error(
          { err, task_id: event.task_id },
          "broker did not acknowledge the dry-run's audit record",
        );
        throw new ApiError("BROKER_UNAVAILABLE");
      });
    return report;
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
