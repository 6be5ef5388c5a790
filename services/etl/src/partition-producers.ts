import { errorChain, type RecordCodec, type Topics } from "@varstream/shared";
import type { Admin, ICustomPartitioner, Kafka, Producer } from "kafkajs";
import type { ScopeCommits } from "./scope-commits.ts";
import { TransactionalWriter } from "./transactions.ts";

export interface PartitionProducersOptions {
  kafka: Kafka;
  admin: Admin;
  /** transactional ids are `<idPrefix>.<topic>-<partition>` */
  idPrefix: string;
  topics: Topics;
  scopes: ScopeCommits;
  codec: RecordCodec;
  createPartitioner: ICustomPartitioner;
}

interface Owned {
  topic: string;
  producer: Producer;
  writer: Promise<TransactionalWriter>;
  /** the committed offset, read once (after the producer fenced every older one) per ownership */
  checked: Promise<number> | undefined;
}

const key = (topic: string, partition: number) => `${topic}-${partition}`;

/**
 * One transactional producer per input partition, its id derived from the partition
 * (`<prefix>.<topic>-<partition>`), so ownership of a partition and of its transactional id move
 * together. Whoever is assigned a partition initializes that id, which fences every older producer
 * of it — a replica that lost the partition while paused (SIGSTOP, a long GC) can no longer commit —
 * and aborts its open transaction. Only after that is the committed offset read again: anything
 * the old owner committed before it was fenced is then visible and is not processed twice.
 */
export class PartitionProducers {
  private readonly options: PartitionProducersOptions;
  private readonly owned = new Map<string, Owned>();

  constructor(options: PartitionProducersOptions) {
    this.options = options;
  }

  private open(topic: string, partition: number): Owned {
    const id = `${this.options.idPrefix}.${key(topic, partition)}`;
    const producer = this.options.kafka.producer({
      transactionalId: id,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 10_000,
      // The broker answers CONCURRENT_TRANSACTIONS while the previous commit's markers are written;
      // a short first retry keeps back-to-back transactions from waiting 100 ms each.
      retry: { initialRetryTime: 10, maxRetryTime: 1000, retries: 10 },
      createPartitioner: this.options.createPartitioner,
    });
    // kafkajs sends InitProducerId at a producer's first transaction, not at connect: an empty
    // transaction right away makes the new owner fence the old one now, not when work first arrives
    // — a zombie whose producer was never initialized would otherwise fence the new owner instead.
    const writer = producer
      .connect()
      .then(() => producer.transaction())
      .then((txn) => txn.abort())
      .then(() => new TransactionalWriter(producer, this.options.topics, this.options.scopes, this.options.codec));
    writer.catch(() => undefined);
    return { topic, producer, writer, checked: undefined };
  }

  /**
   * Called on every assignment of a topic (kafkajs joins between batches, never during one). Every
   * partition assigned gets a fresh producer, also one this replica held before the rebalance: another
   * replica may have held it meanwhile (while this one was paused) and fenced the old producer.
   */
  assign(topic: string, partitions: number[]): void {
    for (const [k, owned] of this.owned) {
      if (owned.topic !== topic) continue;
      this.owned.delete(k);
      void owned.producer.disconnect().catch(() => undefined);
    }
    for (const p of partitions) this.owned.set(key(topic, p), this.open(topic, p));
  }

  /**
   * The writer of a partition, and where processing must resume: the offset committed by whoever
   * held the partition before (read after fencing it), which may be past the batch in hand.
   * Undefined when the partition is not (or no longer) this replica's: only an assignment opens a
   * producer, so a replica that was fenced cannot open a fresh one and fence the new owner back.
   */
  async writer(
    topic: string,
    partition: number,
    groupId: string,
  ): Promise<{ writer: TransactionalWriter; from: number } | undefined> {
    const owned = this.owned.get(key(topic, partition));
    if (!owned) return undefined;
    const writer = await owned.writer;
    owned.checked ??= this.committed(groupId, topic, partition);
    return { writer, from: await owned.checked };
  }

  /** After a producer was fenced: forget it; the next owner of the partition opens a new one. */
  async drop(topic: string, partition: number): Promise<void> {
    const owned = this.owned.get(key(topic, partition));
    this.owned.delete(key(topic, partition));
    await owned?.producer.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.owned.values()];
    this.owned.clear();
    await Promise.all(all.map((o) => o.producer.disconnect().catch(() => undefined)));
  }

  private async committed(groupId: string, topic: string, partition: number): Promise<number> {
    const [offsets] = await this.options.admin.fetchOffsets({ groupId, topics: [topic] });
    const at = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? "-1";
    return Number(at);
  }
}

/** Errors that mean another producer holds this transactional id now. */
const FENCED = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTION_COORDINATOR_FENCED"]);

export function isFenced(err: unknown): boolean {
  return errorChain(err).some((e) => FENCED.has(e.type ?? "") || /fenced|producer epoch/i.test(e.message));
}
