import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

/**
 * patches/kafkajs@2.2.4.patch: kafkajs' produce retry, driven with a fake cluster (a pure unit of its
 * bookkeeping). Broker 2 dies under the first attempt; the metadata then names broker 1, which had
 * already answered for partition 0, as the leader of partition 1. Upstream skipped broker 1 on the
 * retry, so partition 1's records were never sent and the send still resolved.
 */
const require = createRequire(import.meta.url);
const kafkajsDir = require.resolve("kafkajs").replace(/index\.js$/, "");
const sendMessages = require(`${kafkajsDir}src/producer/sendMessages.js`) as (
  deps: unknown,
) => (send: unknown) => Promise<unknown[]>;
const createRetry = require(`${kafkajsDir}src/retry/index.js`) as (o: unknown) => unknown;
const { KafkaJSConnectionError } = require(`${kafkajsDir}src/errors.js`) as {
  KafkaJSConnectionError: new (m: string) => Error;
};

interface Produced {
  broker: number;
  partitions: number[];
}

function fakeCluster() {
  let attempt = 1;
  const produced: Produced[] = [];
  const leaderOf = (partition: number) => (partition === 1 && attempt === 1 ? 2 : 1);
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({
      topicData,
    }: {
      topicData: { topicName?: string; topic?: string; partitions: { partition: number }[] }[];
    }) {
      const partitions = topicData.flatMap((t) => t.partitions.map((p) => p.partition));
      if (nodeId === 2 && attempt === 1) throw new KafkaJSConnectionError("Connection error: connect ECONNREFUSED");
      produced.push({ broker: nodeId, partitions });
      return {
        topics: topicData.map((t) => ({
          topicName: t.topic ?? t.topicName,
          partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: "0" })),
        })),
      };
    },
  });
  const brokers = new Map([
    [1, broker(1)],
    [2, broker(2)],
  ]);
  const cluster = {
    targetTopics: new Set<string>(),
    async addMultipleTargetTopics() {},
    async refreshMetadataIfNecessary() {},
    async refreshMetadata() {
      attempt += 1; // the leader election happened
    },
    isConnected: () => true,
    async connect() {},
    removeBroker() {},
    findTopicPartitionMetadata: () => [0, 1].map((partitionId) => ({ partitionId, leader: leaderOf(partitionId) })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const out: Record<number, number[]> = {};
      for (const p of partitions.map(Number)) out[leaderOf(p)] = [...(out[leaderOf(p)] ?? []), p];
      return out;
    },
    async findBroker({ nodeId }: { nodeId: string }) {
      return brokers.get(Number(nodeId));
    },
  };
  return { cluster, produced };
}

const eosManager = {
  isTransactional: () => false,
  async acquireBrokerLock() {},
  async releaseBrokerLock() {},
  getSequence: () => 0,
  updateSequence() {},
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
  getTransactionalId: () => undefined,
};

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("kafkajs produce retry across a leader change (patched)", () => {
  it("sends the records of a partition whose leader moved onto a broker that had already answered", async () => {
    const { cluster, produced } = fakeCluster();
    const send = sendMessages({
      logger: silent,
      cluster,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
    });
    const responses = await send({
      acks: -1,
      timeout: 1000,
      topicMessages: [
        {
          topic: "t",
          messages: [
            { key: "a", value: "1", partition: 0 },
            { key: "b", value: "2", partition: 1 },
          ],
        },
      ],
    });
    // Partition 0 once (acknowledged by broker 1 in the first attempt), partition 1 once, to its new leader.
    expect(produced).toEqual([
      { broker: 1, partitions: [0] },
      { broker: 1, partitions: [1] },
    ]);
    expect((responses as { partition: number }[]).map((r) => r.partition).sort()).toEqual([0, 1]);
  });

  it("keeps each message on the partition chosen at the first attempt (a keyless one would move)", async () => {
    const { cluster, produced } = fakeCluster();
    let calls = 0;
    const send = sendMessages({
      logger: silent,
      cluster,
      // Round-robin over what is available, as kafkajs does for keyless messages: another partition each call.
      partitioner: () => calls++ % 2,
      eosManager,
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
    });
    await send({
      acks: -1,
      timeout: 1000,
      topicMessages: [{ topic: "t", messages: [{ value: "a" }, { value: "b" }] }],
    });
    // a on 0, b on 1 at the first attempt; the retry sends b once more, to partition 1's new leader, and a not again.
    expect(produced).toEqual([
      { broker: 1, partitions: [0] },
      { broker: 1, partitions: [1] },
    ]);
  });
});
