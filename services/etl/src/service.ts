import { hostname } from "node:os";
import {
  type Bundle,
  backoffMs,
  createKafka,
  createLogger,
  DecodeError,
  decode,
  delay,
  dlqMessage,
  encode,
  ensureTopics,
  exitOnFatal,
  headerText,
  type Logger,
  metrics,
  type Settings,
  scopeKey,
  statusKey,
  topicNames,
  topicSpecs,
  varstreamPartitioner,
  WebhookEvent,
  watchConsumerCrash,
} from "@varstream/shared";
import type { Consumer, KafkaMessage, Message, Producer, TopicMessages } from "kafkajs";
import { TransientGitError } from "./git/errors.ts";
import { RepoCache } from "./git/repo-cache.ts";
import { cloneUrlAllowedForEvent, type EtlOutput, processEvent } from "./process-event.ts";
import { ScopeCommits } from "./scope-commits.ts";

export interface EtlOptions {
  settings: Settings;
  bundle: Bundle;
  logger?: Logger;
  /** stable per instance, so a restarted instance fences its crashed predecessor's transaction */
  transactionalId?: string;
  /** attempts for a transient failure before the event fails its task */
  retryAttempts?: number;
  retryBaseMs?: number;
  /** a consumer crash kafkajs will not recover from; default: exit the process */
  onFatal?: (err: Error) => void;
}

export interface EtlService {
  close(): Promise<void>;
}

const CHUNK = 200;

/**
 * The ETL consumer: reads `webhooks`, and for each chunk of a batch writes the key sets, tombstones,
 * status reports and the consumed offsets in one Kafka transaction (SPEC §1.2). A crash mid-chunk
 * leaves nothing visible to `read_committed` readers, and the chunk is processed again.
 */
export async function startEtl(options: EtlOptions): Promise<EtlService> {
  const { settings, bundle } = options;
  const logger = options.logger ?? createLogger("etl", settings.logLevel);
  const kafka = createKafka(settings, logger);
  const topics = topicNames(settings.topicPrefix);
  const groupId = `${settings.topicPrefix}etl`;
  const attempts = options.retryAttempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 200;

  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs(settings.topicPrefix, settings.topicPartitions, ["etl"]));
  } finally {
    await admin.disconnect();
  }

  const repos = new RepoCache({ dir: settings.gitCacheDir, maxEntries: settings.gitCacheMaxEntries, logger });
  const scopes = new ScopeCommits();
  await scopes.start(kafka, topics.keysets, settings.topicPrefix, logger);
  const producer: Producer = kafka.producer({
    transactionalId: options.transactionalId ?? process.env.ETL_TRANSACTIONAL_ID ?? `${groupId}.${hostname()}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 10_000,
    // The broker answers CONCURRENT_TRANSACTIONS while the previous commit's markers are written;
    // a short first retry keeps back-to-back transactions from waiting 100 ms each.
    retry: { initialRetryTime: 10, maxRetryTime: 1000, retries: 10 },
    createPartitioner: varstreamPartitioner(topics.status),
  });
  await producer.connect();
  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, readUncommitted: false });
  watchConsumerCrash(consumer, logger, options.onFatal ?? exitOnFatal(logger));
  await consumer.connect();
  await consumer.subscribe({ topic: topics.webhooks, fromBeginning: true });

  async function withRetries(event: WebhookEvent, heartbeat: () => Promise<void>): Promise<EtlOutput> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await processEvent(event, { bundle, repos, lastCommit: (key) => scopes.get(key) });
      } catch (err) {
        const transient = err instanceof TransientGitError;
        if (!transient || attempt + 1 >= attempts) {
          logger.warn({ err, task_id: event.task_id }, "event failed");
          const reason = transient ? `${(err as Error).message} (after ${attempts} attempts)` : String(err);
          return {
            keysets: [],
            tombstones: [],
            report: {
              component: "etl",
              task_id: event.task_id,
              outcome: "failed",
              message: reason,
              commit: event.after,
              files: [],
              scopes: [],
              warnings: [],
              at: new Date().toISOString(),
            },
          };
        }
        logger.info({ task_id: event.task_id, attempt, err: (err as Error).message }, "transient failure, retrying");
        await delay(backoffMs(attempt, retryBaseMs, 5_000));
        await heartbeat();
      }
    }
  }

  function outputMessages(output: EtlOutput): { keysets: Message[]; status: Message[] } {
    const taskHeader = { "task-id": output.report.task_id };
    return {
      keysets: [
        ...output.keysets.map((k) => encode(scopeKey(k.scope), k, { ...taskHeader, commit: k.commit })),
        ...output.tombstones.map((s) => ({
          key: scopeKey(s),
          value: null,
          headers: { ...taskHeader, commit: output.report.commit },
        })),
      ],
      status: [encode(statusKey(output.report), output.report)],
    };
  }

  async function processChunk(messages: KafkaMessage[], heartbeat: () => Promise<void>): Promise<TopicMessages[]> {
    const keysets: Message[] = [];
    const status: Message[] = [];
    const dlq: Message[] = [];
    // Events of one repository run in order; repositories run side by side.
    const byRepo = new Map<string, { message: KafkaMessage; event: WebhookEvent }[]>();
    const outputs = new Map<KafkaMessage, EtlOutput>();
    for (const message of messages) {
      try {
        const event = decode(WebhookEvent, message.value, message.headers);
        const key = `${event.platform}/${event.repo.full_name}`;
        const list = byRepo.get(key) ?? [];
        list.push({ message, event });
        byRepo.set(key, list);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        logger.error({ err, offset: message.offset }, "undecodable webhook record sent to DLQ");
        metrics.dlq.inc({ stage: "etl" });
        dlq.push(dlqMessage(message, "etl", err));
      }
    }
    await Promise.all(
      [...byRepo.values()].map(async (events) => {
        // One fetch for the whole chunk of this repository; each event then reads from the cache.
        const first = events[0]!.event;
        if (cloneUrlAllowedForEvent(bundle, first)) {
          await repos.prefetch(first.repo.clone_url, [...new Set(events.map((e) => e.event.after))]).catch((err) => {
            logger.debug({ err: (err as Error).message, repo: first.repo.full_name }, "prefetch failed");
          });
        }
        for (const { message, event } of events) {
          const stop = metrics.stageDuration.startTimer({ stage: "etl" });
          outputs.set(message, await withRetries(event, heartbeat));
          stop();
        }
      }),
    );
    for (const message of messages) {
      const output = outputs.get(message);
      if (!output) continue;
      const m = outputMessages(output);
      keysets.push(...m.keysets);
      status.push(...m.status);
    }
    return [
      { topic: topics.keysets, messages: keysets },
      { topic: topics.status, messages: status },
      { topic: topics.dlq("etl"), messages: dlq },
    ].filter((t) => t.messages.length > 0);
  }

  // Partitions are processed side by side (git fetches, parsing); their transactions take turns,
  // since one transactional producer runs one transaction at a time.
  let txnTail: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = txnTail.then(fn);
    txnTail = run.catch(() => undefined);
    return run;
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (let i = 0; i < batch.messages.length; i += CHUNK) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(i, i + CHUNK);
        const topicMessages = await processChunk(chunk, heartbeat);
        const last = chunk.at(-1)!;
        await inTurn(async () => {
          const txn = await producer.transaction();
          try {
            if (topicMessages.length > 0) await txn.sendBatch({ topicMessages, acks: -1 });
            await txn.sendOffsets({
              consumerGroupId: groupId,
              topics: [
                {
                  topic: batch.topic,
                  partitions: [{ partition: batch.partition, offset: String(Number(last.offset) + 1) }],
                },
              ],
            });
            await txn.commit();
          } catch (err) {
            await txn.abort().catch(() => undefined);
            throw err;
          }
        });
        for (const t of topicMessages.filter((t) => t.topic === topics.keysets)) {
          for (const m of t.messages) {
            const commit = headerText(m.headers, "commit");
            if (m.key && commit) scopes.set(m.key.toString(), commit);
          }
        }
        resolveOffset(last.offset);
        await heartbeat();
      }
    },
  });
  logger.info({ groupId }, "etl consuming");

  return {
    async close() {
      await consumer.disconnect();
      await scopes.stop();
      await producer.disconnect();
      repos.close();
    },
  };
}
