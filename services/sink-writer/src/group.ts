import {
  type DatasourceEntry,
  DecodeError,
  decode,
  dlqMessage,
  encode,
  headerText,
  KeySet,
  type Logger,
  metrics,
  parseScopeKey,
  type SinkReport,
  statusKey,
  type Topics,
} from "@varstream/shared";
import type { Consumer, Kafka, KafkaMessage, Producer } from "kafkajs";
import { applyDesired } from "./apply/apply.ts";
import type { Desired } from "./apply/plan.ts";
import { createSink } from "./sinks/index.ts";
import type { Sink } from "./sinks/sink.ts";

export interface SinkGroupOptions {
  kafka: Kafka;
  producer: Producer;
  topics: Topics;
  groupPrefix: string;
  entry: DatasourceEntry;
  maxRetries: number;
  retryBaseMs: number;
  logger: Logger;
}

/**
 * One consumer group per sink (`<prefix>sink.<name>`, SPEC §5.1) reading `keysets` read_committed and
 * applying the scopes of its own datasource. At least once: the offset is committed after the status
 * report is acknowledged; a redelivery is absorbed by the idempotent apply.
 */
export class SinkGroup {
  readonly name: string;
  private readonly options: SinkGroupOptions;
  private consumer: Consumer | undefined;
  private sink: Sink | undefined;
  private readonly abort = new AbortController();

  constructor(options: SinkGroupOptions) {
    this.options = options;
    this.name = options.entry.name;
  }

  get groupId(): string {
    return `${this.options.groupPrefix}sink.${this.name}`;
  }

  async start(): Promise<void> {
    const { kafka, topics, logger } = this.options;
    this.sink = await createSink(this.options.entry);
    const consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 50, readUncommitted: false });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: topics.keysets, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) return;
          await this.handle(message);
          resolveOffset(message.offset);
          await commitOffsetsIfNecessary({
            topics: [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: String(Number(message.offset) + 1) }],
              },
            ],
          });
          await heartbeat();
        }
      },
    });
    logger.info({ group: this.groupId, sink: this.name }, "sink group consuming");
  }

  private async handle(message: KafkaMessage): Promise<void> {
    const { producer, topics, logger } = this.options;
    const sink = this.sink!;
    let desired: Desired;
    try {
      if (message.key === null) throw new DecodeError("record has no key");
      const scope = parseScopeKey(message.key.toString());
      if (scope.datasource !== this.name) return;
      if (message.value === null) {
        desired = {
          scope,
          taskId: headerText(message.headers, "task-id") ?? "",
          commit: headerText(message.headers, "commit") ?? "",
          keySet: null,
        };
      } else {
        const keySet = decode(KeySet, message.value, message.headers);
        desired = { scope: keySet.scope, taskId: keySet.task_id, commit: keySet.commit, keySet };
      }
    } catch (err) {
      if (!(err instanceof DecodeError || (err as Error).message.startsWith("not a scope key"))) throw err;
      logger.error({ err, offset: message.offset }, "undecodable key set sent to DLQ");
      metrics.dlq.inc({ stage: `sink.${this.name}` });
      await producer.send({
        topic: topics.dlq(`sink.${this.name}`),
        acks: -1,
        messages: [dlqMessage(message, `sink.${this.name}`, err as Error)],
      });
      return;
    }
    const log = logger.child({ task_id: desired.taskId, sink: this.name });
    const report: SinkReport = await applyDesired(sink, desired, {
      maxRetries: this.options.maxRetries,
      retryBaseMs: this.options.retryBaseMs,
      logger: log,
      signal: this.abort.signal,
    });
    if (report.outcome === "failed") {
      metrics.dlq.inc({ stage: `sink.${this.name}` });
      await producer.send({
        topic: topics.dlq(`sink.${this.name}`),
        acks: -1,
        messages: [dlqMessage(message, `sink.${this.name}`, new Error(report.error))],
      });
    } else if (desired.keySet?.received_at) {
      metrics.endToEnd.observe({ sink: this.name }, (Date.now() - Date.parse(desired.keySet.received_at)) / 1000);
    }
    if (desired.taskId !== "") {
      await producer.send({ topic: topics.status, acks: -1, messages: [encode(statusKey(report), report)] });
    }
    log.info({ scope: report.scope, outcome: report.outcome, set: report.set, pruned: report.pruned }, "scope applied");
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error("sink group stopping"));
    await this.consumer?.disconnect();
    await this.sink?.close();
  }
}
