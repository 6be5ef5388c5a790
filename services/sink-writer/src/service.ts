import { type Bundle, reportNotices } from "@varstream/bundle";
import {
  createLogger,
  ensureTopics,
  exitOnFatal,
  type Logger,
  openKafka,
  openRecordCodec,
  type Readiness,
  Secrets,
  type Settings,
  topicNames,
  topicSpecs,
  varstreamPartitioner,
} from "@varstream/shared";
import { SinkGroup } from "./group.ts";

export interface SinkWriterOptions {
  settings: Settings;
  bundle: Bundle;
  logger?: Logger;
  retryBaseMs?: number;
  /** a consumer crash kafkajs will not recover from; default: exit the process */
  onFatal?: (err: Error) => void;
}

export interface SinkWriterService {
  groups: SinkGroup[];
  /** ready: every sink's group consuming and its store answering (the ops server's /health/ready) */
  readiness(): Readiness;
  close(): Promise<void>;
}

/** Starts one consumer group per selected sink (`SINKS`, default every datasource in the bundle). */
export async function startSinkWriter(options: SinkWriterOptions): Promise<SinkWriterService> {
  const { bundle } = options;
  const logger = options.logger ?? createLogger("sink-writer", options.settings.logLevel);
  reportNotices(options.bundle, logger);
  const names = options.settings.sinks ?? [...bundle.datasources.keys()];
  const unknown = names.filter((n) => !bundle.datasources.has(n));
  if (unknown.length > 0) throw new Error(`SINKS names unknown datasources: ${unknown.join(", ")}`);

  const secrets = new Secrets(bundle.secretManagers ? { managers: bundle.secretManagers } : {});
  const { kafka, settings } = await openKafka(options.settings, logger, { secrets });
  const topics = topicNames(settings.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topicSpecs(
        settings.topicPrefix,
        settings.topicPartitions,
        names.map((n) => `sink.${n}`),
        settings.topicReplication,
      ),
    );
  } finally {
    await admin.disconnect();
  }
  const codec = await openRecordCodec(settings.schemaRegistry, topics, logger);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: varstreamPartitioner(topics),
  });
  await producer.connect();

  // Each sink has its own group and its own consumer: a slow or broken sink never delays another.
  const groups = names.map(
    (name) =>
      new SinkGroup({
        kafka,
        producer,
        topics,
        codec,
        groupPrefix: settings.topicPrefix,
        entry: bundle.datasources.get(name)!,
        maxRetries: settings.sinkMaxRetries,
        sessionTimeoutMs: settings.sinkSessionTimeoutMs,
        appEnv: settings.appEnv,
        retryBaseMs: options.retryBaseMs ?? 200,
        maxBackoffMs: settings.sinkRetryMaxBackoffMs,
        logger: logger.child({ sink: name }),
        onFatal: options.onFatal ?? exitOnFatal(logger),
        secrets,
      }),
  );
  await Promise.all(groups.map((g) => g.start()));
  return {
    groups,
    readiness() {
      const checks = Object.assign({}, ...groups.map((g) => g.readiness())) as Record<string, string>;
      return { ready: Object.values(checks).every((c) => c === "ok"), checks };
    },
    async close() {
      await Promise.all(groups.map((g) => g.stop()));
      await producer.disconnect();
    },
  };
}
