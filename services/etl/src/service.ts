import { hostname } from "node:os";
import type { Bundle } from "@varstream/bundle";
import { type CueEvaluator, loadCue } from "@varstream/cue";
import { createGitReaders } from "@varstream/pipeline";
import {
  createLogger,
  delay,
  ensureTopics,
  exitOnFatal,
  explainKafkaError,
  headerText,
  KafkaConnectError,
  type Logger,
  openKafka,
  Secrets,
  type Settings,
  topicNames,
  topicSpecs,
  varstreamPartitioner,
  watchConsumerCrash,
} from "@varstream/shared";
import type { Consumer, EachBatchPayload, Producer } from "kafkajs";
import { ATTEMPT_HEADER, type Attempt, type ChunkDeps, NOT_BEFORE_HEADER, processChunk } from "./chunk.ts";
import { ScopeCommits } from "./scope-commits.ts";
import { TransactionalWriter } from "./transactions.ts";

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
  /** the CUE evaluator (default: the process's shared one) */
  cue?: CueEvaluator;
}

export interface EtlService {
  close(): Promise<void>;
}

const CHUNK = 200;

/**
 * ETL: reads `webhooks` (and `webhooks.retry`), and for each chunk writes the key sets, tombstones,
 * status reports and the consumed offsets in one Kafka transaction. A crash mid-chunk
 * leaves nothing visible to `read_committed` readers, and the chunk is processed again.
 */
export async function startEtl(options: EtlOptions): Promise<EtlService> {
  const { bundle } = options;
  const logger = options.logger ?? createLogger("etl", options.settings.logLevel);
  const secrets = new Secrets(bundle.secretManagers ? { managers: bundle.secretManagers } : {});
  const { kafka, settings } = await openKafka(options.settings, logger, { secrets });
  const topics = topicNames(settings.topicPrefix);
  const groupId = `${settings.topicPrefix}etl`;
  const retryGroupId = `${settings.topicPrefix}etl.retry`;
  const onFatalOnce = options.onFatal ?? exitOnFatal(logger);
  let fatal: Error | undefined;
  const onFatal = (err: Error) => {
    if (fatal) return;
    fatal = err;
    onFatalOnce(err);
  };

  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs(settings.topicPrefix, settings.topicPartitions, ["etl"]));
  } finally {
    await admin.disconnect();
  }

  const readers = createGitReaders({
    bundle,
    settings,
    logger,
    cue: options.cue ?? (await loadCue()),
  });
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
    createPartitioner: varstreamPartitioner(topics),
  });
  await producer.connect();
  const writer = new TransactionalWriter(producer, topics, scopes);
  const deps: ChunkDeps = {
    desired: {
      kafka,
      topic: topics.keysets,
      groupPrefix: settings.topicPrefix,
      logger,
      process: (event) => readers.process(event),
      branchTip: (url, branch) => readers.repos.fetchBranch(url, branch),
    },
    bundle,
    readers,
    scopes,
    topics,
    logger,
    attempts: options.retryAttempts ?? 5,
    retryBaseMs: options.retryBaseMs ?? 500,
  };

  const consume = async (
    consumer: Consumer,
    consumerGroup: string,
    attemptOf: (m: EachBatchPayload["batch"]["messages"][number]) => Attempt,
  ) => {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are processed side by side; their transactions take turns in the writer.
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (let i = 0; i < batch.messages.length; i += CHUNK) {
          if (!isRunning() || isStale()) return;
          const chunk = batch.messages.slice(i, i + CHUNK).map(attemptOf);
          // A parked event waits for its time; the retry topic holds nothing else.
          const due = Math.max(...chunk.map((r) => Number(headerText(r.message.headers, NOT_BEFORE_HEADER) ?? 0)));
          while (Date.now() < due && isRunning()) {
            await delay(Math.min(1000, due - Date.now()));
            await heartbeat();
          }
          const topicMessages = await processChunk(deps, chunk, heartbeat);
          const last = chunk.at(-1)!.message;
          try {
            await writer.commit(topicMessages, {
              groupId: consumerGroup,
              topic: batch.topic,
              partition: batch.partition,
              nextOffset: String(Number(last.offset) + 1),
            });
          } catch (err) {
            // A permission the ETL lacks (an ACL) will not come back by retrying: the transaction was
            // aborted, nothing of the chunk is visible, and the service stops so an operator sees it.
            const cause = explainKafkaError(err, settings);
            if (cause) {
              const writing = [...new Set(topicMessages.map((t) => t.topic))].join(", ");
              logger.fatal(
                { cause, writing, input: batch.topic, partition: batch.partition },
                "etl cannot write its outputs",
              );
              onFatal(new KafkaConnectError(`${cause} (writing ${writing})`));
            }
            throw err;
          }
          resolveOffset(last.offset);
          await heartbeat();
        }
      },
    });
  };

  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, readUncommitted: false });
  const retryConsumer = kafka.consumer({ groupId: retryGroupId, maxWaitTimeInMs: 200, readUncommitted: false });
  for (const c of [consumer, retryConsumer]) {
    watchConsumerCrash(c, logger, onFatal);
    await c.connect();
  }
  await consumer.subscribe({ topic: topics.webhooks, fromBeginning: true });
  await retryConsumer.subscribe({ topic: topics.webhooksRetry, fromBeginning: true });
  await consume(consumer, groupId, (message) => ({ message, attempt: 1 }));
  await consume(retryConsumer, retryGroupId, (message) => ({
    message,
    attempt: Number(headerText(message.headers, ATTEMPT_HEADER) ?? 2),
  }));
  logger.info({ groupId }, "etl consuming");

  return {
    async close() {
      await consumer.disconnect();
      await retryConsumer.disconnect();
      await scopes.stop();
      await producer.disconnect();
      readers.close();
    },
  };
}
