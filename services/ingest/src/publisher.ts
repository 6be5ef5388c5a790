import {
  encode,
  type IngestReport,
  statusKey,
  type Topics,
  varstreamPartitioner,
  type WebhookEvent,
  webhookKey,
} from "@varstream/shared";
import type { Kafka, Producer } from "kafkajs";

/**
 * Publishes an accepted event and the task's first status report with an idempotent producer,
 * `acks=all`. The caller answers 202 only after this resolves.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private readonly topics: Topics;

  constructor(kafka: Kafka, topics: Topics) {
    this.topics = topics;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      createPartitioner: varstreamPartitioner(topics.status),
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async publish(event: WebhookEvent, report: IngestReport): Promise<void> {
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: this.topics.webhooks, messages: [encode(webhookKey(event), event, { "task-id": event.task_id })] },
        { topic: this.topics.status, messages: [encode(statusKey(report), report)] },
      ],
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
