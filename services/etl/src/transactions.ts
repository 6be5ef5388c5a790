import { headerText, headerVersion, MAX_RECORD_BYTES, type RecordCodec, type Topics } from "@varstream/shared";
import type { Message, Producer, TopicMessages } from "kafkajs";
import type { ScopeCommits } from "./scope-commits.ts";

const sizeOf = (m: Message) =>
  (m.value === null || m.value === undefined ? 0 : Buffer.byteLength(m.value)) +
  (m.key ? Buffer.byteLength(m.key) : 0) +
  64;

/** `batch` cut into consecutive parts of at most `maxBytes` each (a larger record travels alone). */
export function splitBatch(batch: TopicMessages[], maxBytes: number): TopicMessages[][] {
  const parts: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of batch) {
    for (const message of messages) {
      const size = sizeOf(message);
      if (bytes > 0 && bytes + size > maxBytes) {
        parts.push(current);
        current = [];
        bytes = 0;
      }
      const last = current.at(-1);
      if (last?.topic === topic) last.messages.push(message);
      else current.push({ topic, messages: [message] });
      bytes += size;
    }
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

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
        // Several produce requests when the chunk is big: each partition's batch stays under the topics' limit.
        for (const part of splitBatch(this.codec.frame(topicMessages), MAX_RECORD_BYTES / 2)) {
          await txn.sendBatch({ topicMessages: part, acks: -1 });
        }
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
          if (m.key && commit) this.scopes.set(m.key.toString(), commit, headerVersion(m.headers));
        }
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
