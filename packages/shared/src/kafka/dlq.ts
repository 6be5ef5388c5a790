import type { Message } from "kafkajs";

/** A poison record for `dlq.<stage>`: the source record as it was, with why it failed in headers. */
export function dlqMessage(
  source: { key: Buffer | null; value: Buffer | null; headers?: Message["headers"] },
  stage: string,
  err: Error,
  firstSeen = new Date(),
): Message {
  return {
    key: source.key,
    value: source.value,
    headers: {
      ...(source.headers ?? {}),
      "dlq-stage": stage,
      "dlq-error-class": err.name,
      "dlq-error-message": err.message.slice(0, 1000),
      "dlq-first-seen": firstSeen.toISOString(),
    },
  };
}
