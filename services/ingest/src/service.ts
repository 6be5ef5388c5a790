import { type Bundle, reportNotices } from "@varstream/bundle";
import {
  createLogger,
  ensureTopics,
  type Logger,
  openKafka,
  openRecordCodec,
  Secrets,
  type Settings,
  topicNames,
  topicSpecs,
} from "@varstream/shared";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import { ControlAuth } from "./auth.ts";
import { DryRunner } from "./dry-run.ts";
import { grpcCredentials, startGrpc } from "./grpc/server.ts";
import { WebhookIntake } from "./intake.ts";
import { EventPublisher } from "./publisher.ts";
import { startSelfHeal } from "./self-heal.ts";
import { TaskStore } from "./tasks/task-store.ts";

export interface IngestService {
  app: FastifyInstance;
  /** the port gRPC listens on */
  grpcPort: number;
  /** `http://host:port` the server listens on */
  url: string;
  store: TaskStore;
  close(): Promise<void>;
}

export interface IngestOptions {
  settings: Settings;
  bundle: Bundle;
  logger?: Logger;
  /** wait for the task store to catch up before listening (default true) */
  awaitStore?: boolean;
}

export async function startIngest(options: IngestOptions): Promise<IngestService> {
  const { bundle } = options;
  const logger = options.logger ?? createLogger("ingest", options.settings.logLevel);
  reportNotices(options.bundle, logger);
  for (const entry of bundle.platforms.values()) {
    if (!entry.config.insecure_skip_signature) continue;
    if (options.settings.appEnv === "production") {
      throw new Error(
        `platform ${entry.name} has insecure_skip_signature: APP_ENV=production needs a secret on every platform`,
      );
    }
    logger.warn(
      { platform: entry.name },
      "platform accepts unsigned webhooks (insecure_skip_signature): local tests only",
    );
  }
  grpcCredentials(options.settings); // APP_ENV=production without certificates stops here, before anything starts
  const secrets = new Secrets(bundle.secretManagers ? { managers: bundle.secretManagers } : {});
  const auth = await ControlAuth.load(bundle.controlPlane, secrets, { appEnv: options.settings.appEnv, logger });
  const { kafka, settings } = await openKafka(options.settings, logger, { secrets });
  const topics = topicNames(settings.topicPrefix);
  const specs = topicSpecs(settings.topicPrefix, settings.topicPartitions, [], settings.topicReplication);

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, specs);

  const codec = await openRecordCodec(settings.schemaRegistry, topics, logger);
  const publisher = new EventPublisher(kafka, topics, codec);
  await publisher.connect();
  const store = new TaskStore(
    kafka,
    {
      statusTopic: topics.status,
      groupPrefix: settings.topicPrefix,
      retentionMs: settings.taskRetentionMs,
      dedupeWindowMs: settings.deliveryDedupeMs,
      maxTasks: 200_000,
      codec,
    },
    logger.child({ component: "task-store" }),
  );
  await store.start();
  if (options.awaitStore ?? true) await store.caughtUpPromise;

  const dryRunner = new DryRunner({ bundle, settings, logger: logger.child({ component: "dry-run" }), secrets });
  const intake = new WebhookIntake({
    bundle,
    secrets,
    store,
    publisher,
    logger,
    dryRunner,
    dedupeWindowMs: settings.deliveryDedupeMs,
  });
  const app = await buildApp({
    auth,
    intake,
    store,
    logger,
    maxBodyBytes: settings.maxWebhookBytes,
    checkKafka: async () => {
      const present = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !present.has(s.topic)).map((s) => s.topic);
      if (missing.length > 0) throw new Error(`missing topics ${missing.join(", ")}`);
    },
  });
  await app.listen({ host: settings.httpHost, port: settings.httpPort });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : settings.httpPort;
  const host = settings.httpHost === "0.0.0.0" ? "127.0.0.1" : settings.httpHost;
  logger.info({ url: `http://${host}:${port}` }, "ingest listening");
  const grpc = await startGrpc({ intake, store, logger, settings, auth }, settings.grpcAddr);
  const selfHeal = startSelfHeal(intake, bundle, logger);

  return {
    app,
    url: `http://${host}:${port}`,
    grpcPort: grpc.port,
    store,
    async close() {
      selfHeal.stop();
      await new Promise<void>((resolve) => grpc.server.tryShutdown(() => resolve()));
      await app.close();
      await store.stop();
      await dryRunner.close();
      await publisher.disconnect();
      await admin.disconnect();
    },
  };
}
