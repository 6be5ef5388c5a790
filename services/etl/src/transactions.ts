import { headerText, type RecordCodec, type Topics } from "@varstream/shared";
import type { Producer, TopicMessages } from "kafkajs";
import type { ScopeCommits } from "./scope-commits.ts";

/**
 * Writes a chunk's outputs and its consumed offset in one Kafka transaction, with the transactional
 * producer of the chunk's input partition. A producer runs one transaction at a time; calls take turns.
 */
export class TransactionalWriter {
  private readonly producer: Producer;
  private readonly topics: Topics;
  private readonly scopes: ScopeCommits;
  private readonly codec: RecordCodec;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(producer: Producer, topics: Topics, scopes: ScopeCommits, codec: RecordCodec) {
    this.producer = producer;
    this.topics = topics;
    this.scopes = scopes;
    this.codec = codec;
  }

  commit(
    topicMessages: TopicMessages[],
    consumed: { groupId: string; topic: string; partition: number; nextOffset: string },
  ): Promise<void> {
    const run = this.tail.then(async () => {
      if (process.env.VARSTREAM_FAULT === "etl-stop-before-commit") {
        // Tests: become a zombie holding a processed chunk (SIGSTOP), once; SIGCONT resumes here.
        // (Stopped inside a transaction, the broker's transaction timeout would fence it anyway.)
        delete process.env.VARSTREAM_FAULT;
        process.kill(process.pid, "SIGSTOP");
      }
      const txn = await this.producer.transaction();
      try {
        if (topicMessages.length > 0) await txn.sendBatch({ topicMessages: this.codec.frame(topicMessages), acks: -1 });
        await txn.sendOffsets({
          consumerGroupId: consumed.groupId,
          topics: [
            { topic: consumed.topic, partitions: [{ partition: consumed.partition, offset: consumed.nextOffset }] },
          ],
        });
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
      for (const t of topicMessages) {
        if (t.topic !== this.topics.keysets) continue;
        for (const m of t.messages) {
          const commit = headerText(m.headers, "commit");
          if (m.key && commit) this.scopes.set(m.key.toString(), commit);
        }
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
