import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import {
  type ControlReport,
  encode,
  type Logger,
  openRecordCodec,
  type Settings,
  statusKey,
  topicNames,
  varstreamPartitioner,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";

/** Who runs the CLI: VARSTREAM_ACTOR, else `cli:<user>@<host>`. */
export function cliActor(env = process.env): string {
  return env.VARSTREAM_ACTOR || `cli:${userInfo().username}@${hostname()}`;
}

/**
 * Records a control action the CLI makes straight on Kafka (a replay) on the `status` topic, as ingest
 * records the ones made through it: the audit trail has every control action.
 */
export async function recordControl(
  kafka: Kafka,
  settings: Settings,
  logger: Logger,
  action: ControlReport["action"],
  datasource: string,
  detail: string,
): Promise<void> {
  const topics = topicNames(settings.topicPrefix);
  const codec = await openRecordCodec(settings.schemaRegistry, topics, logger);
  const report: ControlReport = {
    component: "control",
    task_id: randomUUID(),
    action,
    requested_by: cliActor(),
    datasource,
    detail,
    at: new Date().toISOString(),
  };
  const producer = kafka.producer({ idempotent: true, createPartitioner: varstreamPartitioner(topics) });
  await producer.connect();
  try {
    const [batch] = codec.frame([{ topic: topics.status, messages: [encode(statusKey(report), report)] }]);
    await producer.send({ topic: topics.status, acks: -1, messages: batch!.messages });
  } finally {
    await producer.disconnect();
  }
}
