import { createLogger, frameOf, materialize } from "@varstream/shared";
import type { Kafka } from "kafkajs";

export interface TopicRecord {
  partition: number;
  offset: string;
  key: string | undefined;
  /** the JSON text of the value (behind its frame, if the schema registry framed it) */
  value: string | undefined;
  /** the schema id of a framed value */
  schemaId: number | undefined;
  headers: Record<string, string>;
}

/** Every record a `read_committed` reader sees in `topic` up to its current end (aborted ones never show). */
export async function readCommitted(kafka: Kafka, topic: string, groupPrefix = "test."): Promise<TopicRecord[]> {
  const out: TopicRecord[] = [];
  const reader = await materialize(kafka, {
    topic,
    groupPrefix,
    purpose: "read-committed",
    logger: createLogger("test", "silent"),
    onRecord: (m, partition) => {
      const frame = m.value ? frameOf(m.value) : undefined;
      out.push({
        partition,
        offset: m.offset,
        key: m.key?.toString(),
        value: (frame?.json ?? m.value)?.toString(),
        schemaId: frame?.schemaId,
        headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
      });
    },
    onFatal: (err) => {
      throw err;
    },
  });
  await reader.caughtUp;
  await reader.stop();
  return out;
}
