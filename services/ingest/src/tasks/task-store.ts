import {
  DecodeError,
  jsonCodec,
  type Logger,
  type Materialized,
  materialize,
  metrics,
  type RecordCodec,
  reduceTask,
  StatusReport,
  type TaskDocument,
  type TaskReports,
  type TaskState,
  TERMINAL_STATES,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";

export interface TaskStoreOptions {
  statusTopic: string;
  groupPrefix: string;
  retentionMs: number;
  dedupeWindowMs: number;
  /** upper bound on tasks held; the oldest finished ones go first */
  maxTasks?: number;
  /** a consumer crash kafkajs will not recover from; default: exit the process */
  onFatal?: (err: Error) => void;
  /** how status values are read (default: plain JSON) */
  codec?: RecordCodec;
}

interface Entry {
  reports: TaskReports;
  doc: TaskDocument;
}

export interface ListQuery {
  datasource?: string;
  state?: TaskState;
  limit: number;
  cursor?: string;
}

/**
 * The `status` topic materialized in memory: read from the beginning at start (the topic is
 * compacted, so this grows with live tasks, not history), then followed. Also indexes delivery ids so a
 * redelivered webhook gets its task id back, across restarts.
 */
export class TaskStore {
  private readonly tasks = new Map<string, Entry>();
  private readonly deliveries = new Map<string, { taskId: string; at: number }>();
  private source: Materialized | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  private readonly kafka: Kafka;
  private readonly options: TaskStoreOptions;
  private readonly logger: Logger;

  constructor(kafka: Kafka, options: TaskStoreOptions, logger: Logger) {
    this.kafka = kafka;
    this.options = options;
    this.logger = logger;
  }

  async start(): Promise<void> {
    this.source = await materialize(this.kafka, {
      topic: this.options.statusTopic,
      groupPrefix: this.options.groupPrefix,
      purpose: "ingest.tasks",
      logger: this.logger,
      ...(this.options.onFatal ? { onFatal: this.options.onFatal } : {}),
      onRecord: async (message) => {
        if (message.key === null || message.value === null) return; // a tombstone of an expired task
        // This replica applied its own ingest reports when it published them: skip decoding them again.
        const key = message.key.toString();
        if (key.endsWith("/ingest") && this.tasks.get(key.slice(0, -"/ingest".length))?.reports.ingest) return;
        try {
          this.apply(await (this.options.codec ?? jsonCodec).decode(StatusReport, message.value, message.headers));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err; // the schema registry did not answer: read again
          this.logger.warn({ err, offset: message.offset }, "skipping undecodable status record");
        }
      },
    });
    void this.source.caughtUp.then(() => this.logger.info({ tasks: this.tasks.size }, "task store caught up"));
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  get caughtUp(): boolean {
    return this.source?.isCaughtUp() ?? false;
  }

  /** Resolves when the store has read the topic up to where it ended at start. */
  get caughtUpPromise(): Promise<void> {
    return this.source?.caughtUp ?? Promise.reject(new Error("task store not started"));
  }

  /** Folds one report in. Ingest also calls this for its own reports, so a task is visible at once. */
  apply(report: StatusReport): void {
    if (report.component === "control") return; // an audit record, not a task's
    let entry = this.tasks.get(report.task_id);
    if (!entry) {
      const reports: TaskReports = { sinks: new Map() };
      entry = { reports, doc: reduceTask(report.task_id, reports) };
      this.tasks.set(report.task_id, entry);
    }
    switch (report.component) {
      case "ingest":
        entry.reports.ingest = report;
        if (report.delivery_id !== "") {
          this.deliveries.set(`${report.datasource}/${report.delivery_id}`, {
            taskId: report.task_id,
            at: Date.parse(report.at),
          });
        }
        break;
      case "etl":
        entry.reports.etl = report;
        break;
      case "sink":
        entry.reports.sinks.set(`${report.sink}@${report.scope}`, report);
        break;
    }
    entry.doc = reduceTask(report.task_id, entry.reports);
    metrics.taskStoreSize.set(this.tasks.size);
    if (this.options.maxTasks !== undefined && this.tasks.size > this.options.maxTasks) this.evictOldest();
  }

  /** The raw reports of a task (for benchmarks and diagnostics). */
  reportsOf(taskId: string): TaskReports | undefined {
    return this.tasks.get(taskId)?.reports;
  }

  get(taskId: string): TaskDocument | undefined {
    return this.tasks.get(taskId)?.doc;
  }

  /** The task a delivery id produced within the dedupe window, if any. */
  findDelivery(datasource: string, deliveryId: string, now = Date.now()): string | undefined {
    const hit = this.deliveries.get(`${datasource}/${deliveryId}`);
    return hit && now - hit.at < this.options.dedupeWindowMs ? hit.taskId : undefined;
  }

  /** Newest first; the cursor is the last task id of the previous page. */
  list(query: ListQuery): { tasks: TaskDocument[]; next_cursor?: string } {
    const docs = [...this.tasks.values()]
      .map((e) => e.doc)
      .filter((d) => (query.datasource === undefined || d.datasource === query.datasource) && d.created_at)
      .filter((d) => query.state === undefined || d.state === query.state)
      .sort((a, b) => (b.created_at ?? "").localeCompare(a.created_at ?? "") || b.task_id.localeCompare(a.task_id));
    let start = 0;
    if (query.cursor !== undefined) {
      const at = docs.findIndex((d) => d.task_id === query.cursor);
      start = at < 0 ? docs.length : at + 1;
    }
    const page = docs.slice(start, start + query.limit);
    const more = start + query.limit < docs.length;
    return { tasks: page, ...(more && page.length > 0 ? { next_cursor: page.at(-1)!.task_id } : {}) };
  }

  get size(): number {
    return this.tasks.size;
  }

  /**
   * Forgets tasks finished more than the retention ago and delivery ids older than the dedupe window.
   * Runs every minute; `now` is for tests.
   */
  sweep(now = Date.now()): void {
    for (const [id, entry] of this.tasks) {
      const finished = entry.doc.finished_at;
      if (finished !== undefined && now - Date.parse(finished) > this.options.retentionMs) this.tasks.delete(id);
    }
    for (const [key, hit] of this.deliveries) {
      if (now - hit.at > this.options.dedupeWindowMs) this.deliveries.delete(key);
    }
    metrics.taskStoreSize.set(this.tasks.size);
  }

  private evictOldest(): void {
    for (const [id, entry] of this.tasks) {
      if (TERMINAL_STATES.has(entry.doc.state)) {
        this.tasks.delete(id);
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.source?.stop();
  }
}
