import { type Consumer, Kafka, type KafkaConfig, logLevel } from "kafkajs";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log.ts";
import { kafkajsSecurity } from "./security.ts";

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * A kafkajs client whose logs go through the service's pino logger, with the TLS and SASL settings.
 * Services open theirs with `openKafka`, which also proves the connection and explains a failure.
 */
export function createKafka(settings: Settings, logger: Logger, extra: Partial<KafkaConfig> = {}): Kafka {
  const log = logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: settings.kafkaClientId,
    brokers: settings.kafkaBrokers,
    ...kafkajsSecurity(settings.kafkaSecurity, settings.appEnv),
    logLevel: logLevel.WARN,
    connectionTimeout: 3000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry;
        // kafkajs warns about its own partitioner default even when one is given; nothing to act on.
        if (typeof message === "string" && message.includes("default partitioner")) return;
        // Idempotent producers here retry a bounded number of times on purpose (a webhook is answered
        // 503 rather than held); kafkajs warns about that at every connect.
        if (typeof message === "string" && message.includes("Limiting retries for the idempotent producer")) {
          log.debug(rest, message);
          return;
        }
        // CONCURRENT_TRANSACTIONS right after a commit is expected and retried at once; so are a
        // coordinator that moved or is still loading (a new transactional id, a broker that failed
        // over): kafkajs looks it up again and retries.
        const text = `${message} ${"error" in rest ? String(rest.error) : ""}`;
        const routine = [
          "another concurrent operation on the same transaction",
          "not the correct coordinator",
          "coordinator is loading",
        ].some((m) => text.includes(m));
        log[routine ? "debug" : (LEVELS[level] ?? "info")](rest, message);
      },
    ...extra,
  });
}

/**
 * kafkajs restarts a consumer after a retriable crash by itself; after a crash it will not restart
 * from, the process can only stop (a supervisor restarts it). Tests pass their own `onFatal`.
 */
/** Restarts kafkajs may make of a crashing consumer within {@link CRASH_WINDOW_MS} before the process gives up. */
export const MAX_CRASH_RESTARTS = 5;
const CRASH_WINDOW_MS = 10 * 60_000;

export function watchConsumerCrash(consumer: Consumer, logger: Logger, onFatal: (err: Error) => void): void {
  const crashes: number[] = [];
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      // A consumer that keeps crashing is stuck on something a restart in place does not fix: after
      // MAX_CRASH_RESTARTS in ten minutes the process exits, so its supervisor sees it and restarts it.
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
      if (crashes.length > MAX_CRASH_RESTARTS) {
        logger.fatal(
          { err: payload.error, groupId: payload.groupId, crashes: crashes.length },
          "consumer keeps crashing; giving up on restarts in place",
        );
        onFatal(payload.error);
        return;
      }
      logger.warn({ err: payload.error, groupId: payload.groupId }, "consumer crashed; kafkajs restarts it");
      return;
    }
    logger.fatal({ err: payload.error, groupId: payload.groupId }, "consumer crashed and will not restart");
    onFatal(payload.error);
  });
}

export function exitOnFatal(logger: Logger): (err: Error) => void {
  return (err) => {
    logger.fatal({ err }, "fatal consumer error; exiting so the supervisor restarts the service");
    process.exit(1);
  };
}
