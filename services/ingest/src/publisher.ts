import {
  type ControlReport,
  encode,
  eventKey,
  type IngestReport,
  type PipelineEvent,
  type RecordCodec,
  statusKey,
  type Topics,
  traceHeaders,
  varstreamPartitioner,
} from "@varstream/shared";
import type { Kafka, Message, Producer } from "kafkajs";

interface Pending {
  event: Message;
  status: Message;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Largest number of webhooks sent in one produce request, and produce requests in flight at once. */
const MAX_BATCH = 500;
const MAX_IN_FLIGHT = 4;

/**
 * Publishes an accepted event, then the task's first status report, with an idempotent producer,
 * `acks=all`. The caller answers 202 only after both are acknowledged. Webhooks arriving together are sent
 * in one produce request (kafkajs sends one request per call): at load this is what lets ingest keep up.
 */
export class EventPublisher {
  private readonly producer: Producer;
  private readonly topics: Topics;
  private readonly codec: RecordCodec;
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(kafka: Kafka, topics: Topics, codec: RecordCodec) {
    this.topics = topics;
    this.codec = codec;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      createPartitioner: varstreamPartitioner(topics),
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  publish(event: PipelineEvent, report: IngestReport): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        // The task's trace goes on with the event (the ingest span is the active context here).
        event: encode(eventKey(event), event, { "task-id": event.task_id, ...traceHeaders() }),
        status: encode(statusKey(report), report),
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    // Everything queued during this turn of the event loop goes out together.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.inFlight += 1;
    try {
      // Events first, reports after: a report is what makes a delivery id known (the dedupe index
      // reads them), so it must never land without its event. In one request, a partition whose
      // leader just died fails alone: the reports could land, the event not, and the sender's retry
      // would be answered with the task id of an event that does not exist. Now a failed event send
      // writes no report, and the retry publishes again (a duplicate event is absorbed downstream).
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: this.codec.frame([{ topic: this.topics.webhooks, messages: batch.map((p) => p.event) }]),
      });
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: this.codec.frame([{ topic: this.topics.status, messages: batch.map((p) => p.status) }]),
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    } finally {
      this.inFlight -= 1;
      this.schedule();
    }
  }

  /** An audit record of a control action, on `status`, acknowledged by all replicas. */
  async audit(report: ControlReport): Promise<void> {
    await this.producer.send({
      topic: this.topics.status,
      acks: -1,
      messages: this.codec.frame([{ topic: this.topics.status, messages: [encode(statusKey(report), report)] }])[0]!
        .messages,
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
