import {
  backoffMs,
  contextFromHeaders,
  DecodeError,
  delay,
  destinationPrefix,
  dlqMessage,
  encode,
  headerText,
  headerVersion,
  inSpan,
  KeySet,
  type Logger,
  metrics,
  observeLag,
  PIPELINE_ERRORS,
  type PipelineErrorCode,
  parseScopeKey,
  type RecordCodec,
  type Scope,
  type Secrets,
  type SinkReport,
  SpanKind,
  scopeKey,
  sinkReport,
  statusKey,
  type Topics,
  watchConsumerCrash,
} from "@varstream/shared";
import {
  applyDesired,
  createSink,
  type DatasourceEntry,
  type Desired,
  resolveSecrets,
  type Sink,
} from "@varstream/sinks";
import type { Consumer, Kafka, KafkaMessage, Message, Producer } from "kafkajs";

const CHUNK = 500;

/** A tombstone's version, as a field of its Desired (absent when the header holds none). */
const versionOf = (version: number | undefined): { version?: number } => (version === undefined ? {} : { version });

/** A failure the store's return cures (SINK_UNAVAILABLE), as the error catalogue says. */
const isRetryable = (code: PipelineErrorCode | undefined) => code !== undefined && PIPELINE_ERRORS[code].retry;

export interface SinkGroupOptions {
  kafka: Kafka;
  producer: Producer;
  topics: Topics;
  /** how key sets are read and reports framed */
  codec: RecordCodec;
  groupPrefix: string;
  entry: DatasourceEntry;
  maxRetries: number;
  retryBaseMs: number;
  /** the cap of the backoff while a store is down (SINK_RETRY_MAX_BACKOFF) */
  maxBackoffMs: number;
  logger: Logger;
  onFatal: (err: Error) => void;
  secrets: Secrets;
  /** APP_ENV, for the sinks' production checks */
  appEnv: string;
  /** a member silent this long loses its partitions to the others (SINK_SESSION_TIMEOUT) */
  sessionTimeoutMs: number;
}

/**
 * One consumer group per sink (`<prefix>sink.<name>`) reading `keysets` read_committed and
 * applying the scopes of its own datasource. At least once: the offset is committed after the status
 * report is acknowledged; a redelivery is absorbed by the idempotent apply.
 */
export class SinkGroup {
  readonly name: string;
  private readonly options: SinkGroupOptions;
  private consumer: Consumer | undefined;
  private sink: Sink | undefined;
  private readonly abort = new AbortController();
  private consuming = false;
  /** since when the sink's store has not answered (its partition waiting), with the last error */
  private unavailable: { since: number; error: string } | undefined;

  constructor(options: SinkGroupOptions) {
    this.options = options;
    this.name = options.entry.name;
    // Every series of this sink exists from the start at 0, so rate() and alerts see it before its first event.
    const sink = { sink: this.name };
    for (const counter of [metrics.retries, metrics.rollbacks, metrics.driftRepaired]) counter.inc(sink, 0);
    metrics.dlq.inc({ stage: `sink.${this.name}` }, 0);
    for (const action of ["set", "unchanged", "pruned"] as const) metrics.keys.inc({ ...sink, action }, 0);
  }

  get groupId(): string {
    return `${this.options.groupPrefix}sink.${this.name}`;
  }

  async start(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    this.sink = await createSink(this.options.entry, { secrets: this.options.secrets, appEnv: this.options.appEnv });
    const consumer = kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 50,
      readUncommitted: false,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.min(1000, this.options.sessionTimeoutMs / 3),
    });
    this.consumer = consumer;
    watchConsumerCrash(consumer, logger, this.options.onFatal);
    await consumer.connect();
    await consumer.subscribe({ topic: topics.keysets, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Scopes live on one partition each, so partitions can be applied side by side.
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        for (let i = 0; i < batch.messages.length; i += CHUNK) {
          if (!isRunning() || isStale()) return;
          const chunk = batch.messages.slice(i, i + CHUNK);
          const applied = await this.handleChunk(chunk, batch.partition, {
            heartbeat,
            live: () => isRunning() && !isStale() && !this.abort.signal.aborted,
          });
          // The store stayed down until this member stopped or lost the partition: nothing of the chunk
          // is reported or committed; whoever owns the partition next applies it again.
          if (applied.abandoned) return;
          if (applied.stale) {
            // Refused over a later record's apply: either a redelivery of what is already superseded,
            // or this member lost the partition while it was paused and its successor went on. A
            // heartbeat tells which: a member no longer in the group gets an error here (and rejoins),
            // reporting and committing nothing.
            await heartbeat();
          }
          if (applied.topicMessages.length > 0) {
            await this.options.producer.sendBatch({
              topicMessages: this.options.codec.frame(applied.topicMessages),
              acks: -1,
            });
          }
          const last = chunk.at(-1)!;
          resolveOffset(last.offset);
          observeLag(this.groupId, batch.topic, batch.partition, batch.highWatermark, last.offset);
          await commitOffsetsIfNecessary({
            topics: [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: String(Number(last.offset) + 1) }],
              },
            ],
          });
          await heartbeat();
        }
      },
    });
    this.consuming = true;
    logger.info({ group: this.groupId, sink: this.name }, "sink group consuming");
  }

  /** This group's part of the sink writer's readiness: consuming, and its store answering. */
  readiness(): Record<string, string> {
    const { unavailable } = this;
    return {
      [`${this.name}.kafka`]: this.consuming ? "ok" : "not consuming",
      [`${this.name}.store`]: unavailable
        ? `unreachable for ${Math.round((Date.now() - unavailable.since) / 1000)} s: ${unavailable.error}`
        : "ok",
    };
  }

  /** Decodes a record of `keysets`; undefined for another sink's scope. */
  private async decodeRecord(message: KafkaMessage, partition: number): Promise<Desired | undefined> {
    if (message.key === null) throw new DecodeError("record has no key");
    let scope: Scope;
    try {
      scope = parseScopeKey(message.key.toString());
    } catch (err) {
      throw new DecodeError((err as Error).message);
    }
    if (scope.datasource !== this.name) return undefined;
    const position = { partition, offset: Number(message.offset) };
    if (message.value === null) {
      return {
        scope,
        taskId: headerText(message.headers, "task-id") ?? "",
        commit: headerText(message.headers, "commit") ?? "",
        keySet: null,
        position,
        ...versionOf(headerVersion(message.headers)),
      };
    }
    const keySet = await this.options.codec.decode(KeySet, message.value, message.headers);
    return {
      scope: keySet.scope,
      taskId: keySet.task_id,
      commit: keySet.commit,
      keySet,
      position,
      ...(keySet.version === undefined ? {} : { version: keySet.version }),
    };
  }

  /**
   * Applies a chunk: records of one destination one at a time and in order, different destinations side
   * by side. One at a time per destination because an apply's claims lookup and its write must not
   * interleave with another scope's of the same destination: a key moved from one file to another in
   * one commit would otherwise be pruned by the file it left while the file it joined writes it. (The
   * destination's scopes share a `keysets` partition, so one writer holds them; a paused writer that
   * lost the partition is refused by the store's position check.) Returns the status reports and DLQ
   * records, which the caller sends (acknowledged) before it commits the offsets.
   */
  private async handleChunk(
    messages: KafkaMessage[],
    partition: number,
    control: { heartbeat: () => Promise<void>; live: () => boolean },
  ): Promise<{ topicMessages: { topic: string; messages: Message[] }[]; stale: boolean; abandoned: boolean }> {
    const { topics, logger } = this.options;
    let stale = false;
    let abandoned = false;
    const dlqTopic = topics.dlq(`sink.${this.name}`);
    // Conflict notices re-issue another task's report: sent after this chunk's own reports, which they amend.
    const out: { status: Message[]; notices: Message[]; dlq: Message[] } = { status: [], notices: [], dlq: [] };
    const byDestination = new Map<string, { message: KafkaMessage; desired: Desired }[]>();
    for (const message of messages) {
      let desired: Desired | undefined;
      try {
        desired = await this.decodeRecord(message, partition);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        logger.error({ err, offset: message.offset }, "undecodable key set sent to DLQ");
        metrics.dlq.inc({ stage: `sink.${this.name}` });
        out.dlq.push(dlqMessage(message, `sink.${this.name}`, err));
        continue;
      }
      if (desired === undefined) continue;
      const key = destinationPrefix(scopeKey(desired.scope));
      const list = byDestination.get(key) ?? [];
      list.push({ message, desired });
      byDestination.set(key, list);
    }
    await Promise.all(
      [...byDestination.values()].map(async (records) => {
        for (const { message, desired } of records) {
          await inSpan(
            "varstream.sink apply",
            {
              "varstream.task_id": desired.taskId,
              "varstream.sink": this.name,
              "varstream.scope": scopeKey(desired.scope),
            },
            async (span) => {
              const outcome = await this.applyRecord(message, desired, out, control);
              span.setAttribute("varstream.outcome", outcome);
              if (outcome === "abandoned") abandoned = true;
              if (outcome === "stale") stale = true;
            },
            contextFromHeaders(message.headers),
            SpanKind.CONSUMER,
          );
          if (abandoned) break;
        }
      }),
    );
    // Fault injection for the crash tests: die like kill -9 after writing, before reporting and committing.
    if (process.env.VARSTREAM_FAULT === "crash-after-apply" && byDestination.size > 0)
      process.kill(process.pid, "SIGKILL");
    const topicMessages = [
      { topic: topics.status, messages: [...out.status, ...out.notices] },
      { topic: dlqTopic, messages: out.dlq },
    ].filter((t) => t.messages.length > 0);
    return { topicMessages, stale, abandoned };
  }

  /**
   * One record's apply, retried while its store is away; pushes its report (and a DLQ record for a data
   * error). Says whether it applied, was refused over a later record (stale), or was abandoned (this
   * member stopped or lost the partition while waiting).
   */
  private async applyRecord(
    message: KafkaMessage,
    desired: Desired,
    out: { status: Message[]; notices: Message[]; dlq: Message[] },
    control: { heartbeat: () => Promise<void>; live: () => boolean },
  ): Promise<"applied" | "stale" | "abandoned"> {
    const { logger } = this.options;
    const sink = this.sink!;
    let stale = false;
    let abandoned = false;
    const applyOnce = () =>
      resolveSecrets(desired, this.options.secrets, logger).then(
        (resolved) =>
          applyDesired(sink, resolved, {
            maxRetries: this.options.maxRetries,
            retryBaseMs: this.options.retryBaseMs,
            logger: logger.child({ task_id: desired.taskId }),
            signal: this.abort.signal,
            onConflict: (notice) => out.notices.push(encode(statusKey(notice), notice)),
            onStale: (err) => {
              stale = true;
              logger.warn(
                { task_id: desired.taskId, err: err.message },
                "write refused: the store holds a later record",
              );
            },
            beforeWrite: () => {
              if (process.env.VARSTREAM_FAULT !== "sink-stop-before-write") return;
              // Tests: become a zombie between planning and writing (SIGSTOP), once.
              delete process.env.VARSTREAM_FAULT;
              process.kill(process.pid, "SIGSTOP");
            },
          }),
        (err: Error) =>
          sinkReport({
            sink: this.name,
            taskId: desired.taskId,
            scope: desired.scope,
            commit: desired.commit,
          }).failed(err, { durationMs: 0, rolledBack: false }),
      );
    let report = await applyOnce();
    // The store is down (a connectivity error, a timeout): wait for it, however long, with capped
    // backoff. This sink's partition waits with it; every other sink has its own group and goes on.
    // The DLQ is for what a retry cannot fix.
    for (let wait = 0; report.outcome === "failed" && isRetryable(report.code) && !abandoned; wait++) {
      if (!control.live()) {
        abandoned = true;
        break;
      }
      if (wait === 0 && desired.taskId !== "") await this.tellWaiting(report);
      this.unavailable ??= { since: Date.now(), error: report.error ?? "unavailable" };
      metrics.retries.inc({ sink: this.name });
      logger.warn(
        { task_id: desired.taskId, scope: report.scope, err: report.error, wait },
        "sink unavailable: retrying until it is back",
      );
      await this.pause(backoffMs(wait, this.options.retryBaseMs, this.options.maxBackoffMs), control);
      if (!control.live()) {
        abandoned = true;
        break;
      }
      report = await applyOnce();
    }
    if (abandoned) {
      this.unavailable = undefined; // this member waits no more; whoever owns the partition next will tell
      return "abandoned";
    }
    this.unavailable = undefined; // the store answered (applied, or refused the data)
    if (report.outcome === "failed") {
      metrics.dlq.inc({ stage: `sink.${this.name}` });
      out.dlq.push(
        dlqMessage(message, `sink.${this.name}`, new Error(report.error), { code: report.code ?? "INTERNAL" }),
      );
    } else if (desired.keySet?.received_at) {
      const seconds = (Date.now() - Date.parse(desired.keySet.received_at)) / 1000;
      metrics.endToEnd.observe({ sink: this.name }, seconds);
    }
    if (desired.taskId !== "") out.status.push(encode(statusKey(report), report));
    logger.debug({ task_id: desired.taskId, scope: report.scope, outcome: report.outcome }, "scope applied");
    if (abandoned) return "abandoned";
    return stale ? "stale" : "applied";
  }

  /** Tells the task, at once, that this scope waits for its store (a later report replaces it). */
  private async tellWaiting(failed: SinkReport): Promise<void> {
    const report = sinkReport({
      sink: this.name,
      taskId: failed.task_id,
      scope: failed.scope,
      commit: failed.commit,
    }).retrying(failed);
    const topic = this.options.topics.status;
    await this.options.producer
      .sendBatch({
        acks: -1,
        topicMessages: this.options.codec.frame([{ topic, messages: [encode(statusKey(report), report)] }]),
      })
      .catch((err: Error) => this.options.logger.warn({ err }, "could not report the wait"));
  }

  /** Waits `ms`, heartbeating each second so the group keeps the partition, unless told to stop. */
  private async pause(ms: number, control: { heartbeat: () => Promise<void>; live: () => boolean }): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && control.live()) {
      await delay(Math.min(1000, until - Date.now()), this.abort.signal).catch(() => undefined);
      await control.heartbeat().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.consuming = false;
    this.abort.abort(new Error("sink group stopping"));
    await this.consumer?.disconnect();
    await this.sink?.close();
  }
}
