import type { Message } from "kafkajs";
import { errorCode, type PipelineErrorCode } from "../errors/pipeline.ts";

/**
 * A poison record for `dlq.<stage>`: the source record as it was, with why it failed in headers —
 * `dlq-error-code` (the pipeline catalogue's code), `dlq-error-message`, and `dlq-error-class` (the
 * error's class, for whoever debugs it).
 */
export function dlqMessage(
  source: { key: Buffer | null; value: Buffer | null; headers?: Message["headers"] },
  stage: string,
  err: Error,
  options: { code?: PipelineErrorCode; firstSeen?: Date } = {},
): Message {
  return {
    key: source.key,
    value: source.value,
    headers: {
      ...(source.headers ?? {}),
      "dlq-stage": stage,
      "dlq-error-code": options.code ?? errorCode(err),
      "dlq-error-class": err.name,
      "dlq-error-message": err.message.slice(0, 1000),
      "dlq-first-seen": (options.firstSeen ?? new Date()).toISOString(),
    },
  };
}
