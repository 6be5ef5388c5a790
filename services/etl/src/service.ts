import { type Bundle, reportNotices } from "@varstream/bundle";
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
  metrics,
  observeLag,
  openKafka,
  openRecordCodec,
  type Readiness,
  Secrets,
  type Settings,
  topicNames,
  topicSpecs,
  varstreamPartitioner,
  watchConsumerCrash,
} from "@varstream/shared";
import type { Consumer, EachBatchPayload } from "kafkajs";
import { ATTEMPT_HEADER, type Attempt, type ChunkDeps, NOT_BEFORE_HEADER, processChunk } from "./chunk.ts";
import { reportOrphans } from "./orphans.ts";
import { isFenced, PartitionProducers } from "./partition-producers.ts";
import { ScopeCommits } from "./scope-commits.ts";

export interface EtlOptions {
  settings: Settings;
  bundle: Bundle;
  logger?: Logger;
  /**
   * transactional ids are `<prefix>.<topic>-<partition>` (default `<TOPIC_PREFIX>etl`): one per input
   * partition, so whichever replica is assigned a partition fences its previous owner
   */
  transactionalIdPrefix?: string;
  /** attempts for a transient failure before the event fails its task */
  retryAttempts?: number;
  retryBaseMs?: number;
  /** a consumer crash kafkajs will not recover from; default: exit the process */
  onFatal?: (err: Error) => void;
  /** the CUE evaluator (default: the process's shared one) */
  cue?: CueEvaluator;
}

export interface EtlService {
  /** ready: consuming, with nothing fatal (the ops server's /health/ready) */
  readiness(): Readiness;
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
  reportNotices(options.bundle, logger);
  const secrets = new Secrets(bundle.secretManagers ? { managers: bundle.secretManagers } : {});
  const { kafka, settings } = await openKafka(options.settings, logger, { secrets });
  const topics = topicNames(settings.topicPrefix);
  const groupId = `${settings.topicPrefix}etl`;
  const retryGroupId = `${settings.topicPrefix}etl.retry`;
  metrics.dlq.inc({ stage: "etl" }, 0); // the series exists before the first dead letter
  const onFatalOnce = options.onFatal ?? exitOnFatal(logger);
  let fatal: Error | undefined;
  const onFatal = (err: Error) => {
    if (fatal) return;
    fatal = err;
    onFatalOnce(err);
  };

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    topicSpecs(settings.topicPrefix, settings.topicPartitions, ["etl"], settings.topicReplication),
  );

  const readers = createGitReaders({
    bundle,
    settings,
    logger,
    cue: options.cue ?? (await loadCue()),
  });
  const codec = await openRecordCodec(settings.schemaRegistry, topics, logger);
  const scopes = new ScopeCommits();
  await scopes.start(kafka, topics.keysets, settings.topicPrefix, logger, codec);
  const producers = new PartitionProducers({
    kafka,
    admin,
    idPrefix: options.transactionalIdPrefix ?? settings.etlTransactionalIdPrefix ?? groupId,
    topics,
    scopes,
    codec,
    createPartitioner: varstreamPartitioner(topics),
  });
  const deps: ChunkDeps = {
    desired: {
      kafka,
      topic: topics.keysets,
      groupPrefix: settings.topicPrefix,
      logger,
      codec,
      // A refetch is a late event like any other: a scope whose stored commit is newer is superseded.
      process: (event) => readers.process(event, { lastCommit: (key) => scopes.get(key) }),
      currentVersion: (key) => scopes.version(key),
      branchTip: (url, branch) => readers.repos.fetchBranch(url, branch),
      bundle,
    },
    bundle,
    readers,
    scopes,
    topics,
    codec,
    logger,
    attempts: options.retryAttempts ?? Number.POSITIVE_INFINITY,
    retryWindowMs: settings.gitRetryWindowMs,
    selfHealRuns: new Map(),
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
      // Partitions are processed side by side, each with its own transactional producer.
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const owned = await producers.writer(batch.topic, batch.partition, consumerGroup);
        if (!owned) {
          // Fenced since the last assignment: a heartbeat makes this replica rejoin (it throws).
          logger.warn(
            { topic: batch.topic, partition: batch.partition },
            "batch of a partition this replica no longer owns",
          );
          await delay(200);
          await heartbeat();
          return;
        }
        const { writer, from } = owned;
        // What an earlier owner of the partition committed before this replica fenced it is done.
        const messages = batch.messages.filter((m) => Number(m.offset) >= from);
        if (messages.length < batch.messages.length) {
          logger.info(
            { topic: batch.topic, partition: batch.partition, skipped: batch.messages.length - messages.length },
            "skipping records an earlier owner of the partition committed",
          );
          const lastSkipped = batch.messages[batch.messages.length - messages.length - 1];
          if (lastSkipped) resolveOffset(lastSkipped.offset);
        }
        for (let i = 0; i < messages.length; i += CHUNK) {
          if (!isRunning() || isStale()) return;
          const chunk = messages.slice(i, i + CHUNK).map(attemptOf);
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
            // Another replica owns the partition now and fenced this one: nothing of the chunk is
            // visible, and the group's next rebalance tells this replica what it still owns.
            if (isFenced(err)) {
              logger.warn({ topic: batch.topic, partition: batch.partition }, "fenced by the partition's new owner");
              await producers.drop(batch.topic, batch.partition);
              return;
            }
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
          observeLag(consumerGroup, batch.topic, batch.partition, batch.highWatermark, last.offset);
          await heartbeat();
        }
      },
    });
  };

  // A large git fetch sends no heartbeat: the session timeout must stay above the longest one.
  const session = {
    sessionTimeout: settings.etlSessionTimeoutMs,
    heartbeatInterval: Math.min(3000, settings.etlSessionTimeoutMs / 3),
  };
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, readUncommitted: false, ...session });
  const retryConsumer = kafka.consumer({
    groupId: retryGroupId,
    maxWaitTimeInMs: 200,
    readUncommitted: false,
    ...session,
  });
  for (const [c, topic] of [
    [consumer, topics.webhooks],
    [retryConsumer, topics.webhooksRetry],
  ] as const) {
    watchConsumerCrash(c, logger, onFatal);
    // Producers follow the assignment: one per partition held, opened (and fencing) as it arrives.
    c.on(c.events.GROUP_JOIN, ({ payload }) => producers.assign(topic, payload.memberAssignment[topic] ?? []));
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
  let consuming = true;
  const orphanCheck = reportOrphans(bundle, deps.desired, logger);

  return {
    readiness: () => ({
      ready: consuming && fatal === undefined,
      checks: {
        kafka: fatal ? `stopped: ${fatal.message}` : consuming ? "ok" : "stopping",
      },
    }),
    async close() {
      consuming = false;
      await orphanCheck;
      await consumer.disconnect();
      await retryConsumer.disconnect();
      await scopes.stop();
      await producers.close();
      await admin.disconnect();
      readers.close();
    },
  };
}
