import type { Bundle } from "@varstream/bundle";
import { cloneUrlAllowedForEvent, type EtlOutput, type GitReaders, TransientGitError } from "@varstream/pipeline";
import {
  backoffMs,
  contextFromHeaders,
  DecodeError,
  dlqMessage,
  encode,
  etlReport,
  inSpan,
  isResync,
  type Logger,
  MAX_KEYSET_BYTES,
  metrics,
  PIPELINE_ERRORS,
  PipelineError,
  PipelineEvent,
  parseDuration,
  type RecordCodec,
  type ResyncEvent,
  SCHEDULED_RESYNC,
  SpanKind,
  scopeKey,
  statusKey,
  type Topics,
  traceHeaders,
  VERSION_HEADER,
  type WebhookEvent,
  webhookKey,
} from "@varstream/shared";
import type { KafkaMessage, Message, TopicMessages } from "kafkajs";
import { type DesiredStateSource, resync } from "./resync.ts";
import type { ScopeCommits } from "./scope-commits.ts";

export interface ChunkDeps {
  /** where resync reads the desired state */
  desired: DesiredStateSource;
  bundle: Bundle;
  readers: GitReaders;
  scopes: ScopeCommits;
  topics: Topics;
  /** how event values are read (framed by the schema registry or plain JSON) */
  codec: RecordCodec;
  logger: Logger;
  /** attempts for a transient failure before the event fails its task (tests; default: no limit) */
  attempts: number;
  /** how long after ingest received it a transiently failing event is retried (GIT_RETRY_WINDOW) */
  retryWindowMs: number;
  /** when each datasource's last scheduled resync of each kind ran, to drop one that follows too closely */
  selfHealRuns?: Map<string, number>;
  retryBaseMs: number;
}

/** A record to process and the attempt it is on (1 for `webhooks`, from a header for the retry topic). */
export interface Attempt {
  message: KafkaMessage;
  attempt: number;
}

export const ATTEMPT_HEADER = "attempt";
export const NOT_BEFORE_HEADER = "not-before";

/**
 * Turns a chunk of webhook records into what one transaction writes: key sets and tombstones, one
 * status report per event, DLQ records for undecodable ones, and retry records for events whose
 * repository could not be reached. Repositories run side by side, each in order; a transient failure
 * is parked on the retry topic instead of holding up the partition.
 */
export async function processChunk(
  deps: ChunkDeps,
  records: Attempt[],
  heartbeat: () => Promise<void>,
): Promise<TopicMessages[]> {
  const { topics, logger } = deps;
  const dlq: Message[] = [];
  const byRepo = new Map<string, { record: Attempt; event: WebhookEvent }[]>();
  const resyncs: { record: Attempt; event: ResyncEvent }[] = [];
  for (const record of records) {
    try {
      const decoded = await deps.codec.decode(PipelineEvent, record.message.value, record.message.headers);
      if (isResync(decoded)) {
        resyncs.push({ record, event: decoded });
        continue;
      }
      const event = decoded;
      const key = webhookKey(event);
      const list = byRepo.get(key) ?? [];
      list.push({ record, event });
      byRepo.set(key, list);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      logger.error({ err, offset: record.message.offset }, "undecodable webhook record sent to DLQ");
      metrics.dlq.inc({ stage: "etl" });
      dlq.push(dlqMessage(record.message, "etl", err));
    }
  }

  /** each record's output, and the trace context its key sets carry on (its ETL span's) */
  const outputs = new Map<
    KafkaMessage,
    { output: EtlOutput; retry?: Message; version?: number; trace?: Record<string, string> }
  >();
  // One span per event, child of the task's trace the record carries; its context goes on with the key sets.
  const traced = <T extends object>(record: Attempt, taskId: string, fn: () => Promise<T>) =>
    inSpan(
      "varstream.etl process",
      { "varstream.task_id": taskId, "varstream.attempt": record.attempt },
      async () => ({ ...(await fn()), trace: traceHeaders() }),
      contextFromHeaders(record.message.headers),
      SpanKind.CONSUMER,
    );
  // What this chunk emitted so far, per scope: a later event of the chunk is judged against it (the
  // ScopeCommits only learn it once the transaction commits).
  const emitted: Emitted = new Map();
  for (const { record, event } of resyncs) {
    const skipped = closeSelfHeal(event, deps);
    outputs.set(
      record.message,
      await traced(record, event.task_id, async () => ({
        output: skipped
          ? { keysets: [], tombstones: [], report: etlReport(event.task_id, "").noMatch(skipped) }
          : await resyncOrFail(event, deps),
      })),
    );
  }
  await Promise.all(
    [...byRepo.values()].map(async (events) => {
      // One fetch for the whole chunk of this repository; each event then reads from the cache.
      const first = events[0]!.event;
      if (cloneUrlAllowedForEvent(deps.bundle, first)) {
        await deps.readers.repos
          .prefetch(first.repo.clone_url, [...new Set(events.map((e) => e.event.after))])
          .catch((err) => {
            logger.debug({ err: (err as Error).message, repo: first.repo.full_name }, "prefetch failed");
          });
      }
      for (const { record, event } of events) {
        const stop = metrics.stageDuration.startTimer({ stage: "etl" });
        outputs.set(record.message, await traced(record, event.task_id, () => attempt(deps, event, record, emitted)));
        stop();
        await heartbeat();
      }
    }),
  );

  const keysets: Message[] = [];
  const status: Message[] = [];
  const retries: Message[] = [];
  for (const { message } of records) {
    const done = outputs.get(message);
    if (!done) continue;
    const { retry, version } = done;
    let { output } = done;
    const taskHeader = { "task-id": output.report.task_id, ...done.trace };
    const encoded = output.keysets.map((keySet) => {
      const k = keySet.version === undefined && version !== undefined ? { ...keySet, version } : keySet;
      const headers = { ...taskHeader, commit: k.commit, ...versionHeader(k.version) };
      return encode(scopeKey(k.scope), k, headers);
    });
    const huge = encoded.findIndex((m) => Buffer.byteLength(m.value as string) > MAX_KEYSET_BYTES);
    if (huge >= 0) {
      // Larger than the topics take: the event fails with a code instead of failing the transaction.
      const k = output.keysets[huge]!;
      const bytes = Buffer.byteLength(encoded[huge]!.value as string);
      const report = etlReport(output.report.task_id, output.report.commit).failed(
        "FILE_TOO_LARGE",
        `the key set of ${k.scope.file} for ${k.scope.destination} is ${bytes} bytes, more than a keysets record takes (${MAX_KEYSET_BYTES})`,
      );
      output = { keysets: [], tombstones: [], report };
      encoded.length = 0;
    }
    keysets.push(...encoded);
    for (const s of output.tombstones) {
      const headers = { ...taskHeader, commit: output.report.commit, ...versionHeader(version) };
      keysets.push({ key: scopeKey(s), value: null, headers });
    }
    status.push(encode(statusKey(output.report), output.report));
    if (retry) retries.push(retry);
  }
  return [
    { topic: topics.keysets, messages: keysets },
    { topic: topics.status, messages: status },
    { topic: topics.webhooksRetry, messages: retries },
    { topic: topics.dlq("etl"), messages: dlq },
  ].filter((t) => t.messages.length > 0);
}

const versionHeader = (version: number | undefined): Record<string, string> =>
  version === undefined ? {} : { [VERSION_HEADER]: String(version) };

/**
 * The version of what a push's event produces (KeySet.version): when ingest received it, raised above
 * every version its scopes hold already, so a later push of a repository outranks an earlier one even
 * when ingest replicas' clocks disagree. Raising it is safe because an event reaching this point is
 * neither an ancestor of its scopes' last commits (dropSuperseded) nor off its branch: its state is
 * newer. A retry built on a replica that has not seen the newer push keeps its reception time, which
 * the sink compares with the stored version.
 */
function pushVersion(event: WebhookEvent, output: EtlOutput, lastVersion: (scopeKey: string) => number): number {
  const received = Date.parse(event.received_at);
  const at = Number.isFinite(received) ? Math.max(0, received) : Date.now();
  const scopeKeys = [...output.keysets.map((k) => scopeKey(k.scope)), ...output.tombstones.map(scopeKey)];
  return Math.max(at, ...scopeKeys.map((k) => lastVersion(k) + 1));
}

/** Scheduled resyncs (ingest's self-heal.ts) by reason, with the rule field that sets their interval. */
const SCHEDULED: Record<string, (rule: Bundle["rules"][number]) => string | undefined> = {
  [SCHEDULED_RESYNC.selfHeal]: (rule) => (rule.self_heal ? rule.reconcile_interval : undefined),
  [SCHEDULED_RESYNC.refetch]: (rule) => rule.refetch_interval,
};

/**
 * Why a scheduled resync (self-heal, refetch) is dropped, if it is: another of its kind and datasource
 * ran less than half its interval ago (each ingest replica schedules its own).
 */
function closeSelfHeal(event: ResyncEvent, deps: ChunkDeps): string | undefined {
  const intervalOf = event.reason === undefined ? undefined : SCHEDULED[event.reason];
  if (!intervalOf || !deps.selfHealRuns) return undefined;
  const intervals = deps.bundle.rules
    .filter((r) => r.datasource.includes(event.datasource))
    .map(intervalOf)
    .filter((text): text is string => text !== undefined)
    .map(parseDuration);
  const every = intervals.length > 0 ? Math.min(...intervals) : 0;
  const runKey = `${event.reason} ${event.datasource}`;
  const last = deps.selfHealRuns.get(runKey);
  const now = Date.now();
  if (last !== undefined && now - last < every / 2)
    return `${event.reason} of ${event.datasource} ran ${now - last} ms ago`;
  deps.selfHealRuns.set(runKey, now);
  return undefined;
}

/** A resync, or its task failed with the code of why: a resync never stops its partition either. */
async function resyncOrFail(event: ResyncEvent, deps: ChunkDeps): Promise<EtlOutput> {
  try {
    return await resync(event, deps.desired);
  } catch (err) {
    const code = err instanceof PipelineError || err instanceof TransientGitError ? err.code : "INTERNAL";
    deps.logger.error({ task_id: event.task_id, err }, "resync failed");
    const message = `resync of ${event.datasource} failed: ${(err as Error).message}; nothing was re-emitted, ask again`;
    return { keysets: [], tombstones: [], report: etlReport(event.task_id, "").failed(code, message) };
  }
}

/** Per scope key, the commit and version a chunk emitted for it. */
type Emitted = Map<string, { commit: string; version: number }>;

async function attempt(
  deps: ChunkDeps,
  event: WebhookEvent,
  record: Attempt,
  emitted: Emitted,
): Promise<{ event: WebhookEvent; output: EtlOutput; retry?: Message; version?: number }> {
  try {
    const lastCommit = (key: string) => emitted.get(key)?.commit ?? deps.scopes.get(key);
    const output = await deps.readers.process(event, { lastCommit });
    const lastVersion = (key: string) => Math.max(emitted.get(key)?.version ?? 0, deps.scopes.version(key));
    const version = pushVersion(event, output, lastVersion);
    for (const k of output.keysets) emitted.set(scopeKey(k.scope), { commit: k.commit, version });
    for (const s of output.tombstones) emitted.set(scopeKey(s), { commit: event.after, version });
    return { event, output, version };
  } catch (caught) {
    // Nothing escapes the per-event handler: a poison event must never stop its partition. A permanent
    // pipeline error fails the task; anything else (git away, a crashed helper, a bug) is retried from
    // webhooks.retry and fails the task with its code once the attempts are spent.
    const report = etlReport(event.task_id, event.after);
    if (caught instanceof PipelineError && !PIPELINE_ERRORS[caught.code].retry) {
      deps.logger.warn({ task_id: event.task_id, err: caught.message, code: caught.code }, "event failed");
      return { event, output: { keysets: [], tombstones: [], report: report.failed(caught.code, caught.message) } };
    }
    const err = caught instanceof Error ? caught : new Error(String(caught));
    const code = caught instanceof TransientGitError || caught instanceof PipelineError ? caught.code : "INTERNAL";
    const waited = Date.now() - Date.parse(event.received_at);
    const outOfTime = waited > deps.retryWindowMs;
    const exhausted = record.attempt >= deps.attempts || outOfTime;
    const of = Number.isFinite(deps.attempts) ? ` of ${deps.attempts}` : "";
    const message = !exhausted
      ? `retrying: ${err.message} (attempt ${record.attempt}${of})`
      : outOfTime
        ? `${err.message} (gave up after ${Math.round(waited / 60_000)} min and ${record.attempt} attempts: GIT_RETRY_WINDOW)`
        : `${err.message} (gave up after ${deps.attempts} attempts)`;
    if (code === "INTERNAL") deps.logger.error({ task_id: event.task_id, err }, "event processing failed unexpectedly");
    else deps.logger.warn({ task_id: event.task_id, attempt: record.attempt, err: err.message }, "transient failure");
    const output: EtlOutput = {
      keysets: [],
      tombstones: [],
      report: exhausted ? report.failed(code, message) : report.retrying(code, message),
    };
    if (exhausted) return { event, output };
    const notBefore = Date.now() + backoffMs(record.attempt - 1, deps.retryBaseMs, 30_000);
    return {
      event,
      output,
      retry: encode(webhookKey(event), event, {
        "task-id": event.task_id,
        ...traceHeaders(), // the retry goes on in the task's trace
        [ATTEMPT_HEADER]: String(record.attempt + 1),
        [NOT_BEFORE_HEADER]: String(notBefore),
      }),
    };
  }
}
