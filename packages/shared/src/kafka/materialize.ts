import { randomUUID } from "node:crypto";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "../log.ts";
import { retrying } from "../retry.ts";
import { exitOnFatal, watchConsumerCrash } from "./client.ts";

export interface MaterializeOptions {
  topic: string;
  /** the group is `<groupPrefix><purpose>.<random>`: private, nothing committed */
  groupPrefix: string;
  purpose: string;
  logger: Logger;
  onRecord: (message: KafkaMessage, partition: number) => void | Promise<void>;
  onFatal?: (err: Error) => void;
}

export interface Materialized {
  /** resolves once every partition was read up to where it ended when reading began */
  caughtUp: Promise<void>;
  isCaughtUp(): boolean;
  stop(): Promise<void>;
}

/**
 * Reads a (compacted) topic from the beginning into memory and keeps following it: the task store
 * over `status`, ETL's last commit per scope over `keysets`. Read committed, so an aborted
 * transaction never shows.
 */
export async function materialize(kafka: Kafka, options: MaterializeOptions): Promise<Materialized> {
  const pending = new Map<number, number>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const p of await retrying(() => admin.fetchTopicOffsets(options.topic))) {
      if (Number(p.high) > Number(p.low)) pending.set(p.partition, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  let done = false;
  let resolve: () => void = () => undefined;
  const caughtUp = new Promise<void>((r) => {
    resolve = r;
  });
  const check = () => {
    if (!done && pending.size === 0) {
      done = true;
      resolve();
    }
  };
  check();

  const consumer: Consumer = kafka.consumer({
    groupId: `${options.groupPrefix}${options.purpose}.${randomUUID()}`,
    maxWaitTimeInMs: 100,
    readUncommitted: false,
  });
  watchConsumerCrash(consumer, options.logger, options.onFatal ?? exitOnFatal(options.logger));
  // Batches of only control records or aborted messages carry no message but still move the offset.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const target = pending.get(payload.partition);
    if (target !== undefined && Number(payload.lastOffset) >= target - 1) {
      pending.delete(payload.partition);
      check();
    }
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) await options.onRecord(message, batch.partition);
    },
  });
  return { caughtUp, isCaughtUp: () => done, stop: () => consumer.disconnect() };
}
