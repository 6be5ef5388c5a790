import { loadSettings, opsAddress, type Settings } from "./config/settings.ts";
import { createLogger, type Logger } from "./log.ts";
import { type Readiness, startOpsServer } from "./ops/server.ts";
import { startTracing } from "./tracing.ts";

/**
 * Runs a service until SIGINT/SIGTERM, then closes it (finish or abandon the batch in hand, commit,
 * leave the group). A failure to start exits 1 with the reason logged.
 */
export async function runUntilSignal(logger: Logger, start: () => Promise<{ close(): Promise<void> }>): Promise<void> {
  let service: { close(): Promise<void> };
  try {
    service = await start();
  } catch (err) {
    logger.fatal({ err }, "failed to start");
    process.exit(1);
  }
  let closing = false;
  const stop = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await service.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** What a service's start gives back: how to close it and, for one with ops endpoints, its readiness. */
export interface StartedService {
  close(): Promise<void>;
  readiness?(): Readiness;
}

/**
 * A service's `main`: settings from the environment, its logger, tracing (OTLP when configured), the
 * service started until a signal; with `opsPort`, its /metrics and /health/* on OPS_ADDR (that port by
 * default). Closing stops the ops endpoints, the service, then flushes the traces.
 */
export async function runService(
  name: string,
  start: (settings: Settings, logger: Logger) => Promise<StartedService>,
  opsPort?: number,
): Promise<void> {
  const settings = loadSettings();
  const logger = createLogger(name, settings.logLevel);
  const tracing = startTracing(`varstream-${name}`);
  await runUntilSignal(logger, async () => {
    const service = await start(settings, logger);
    const readiness = service.readiness?.bind(service);
    const ops =
      opsPort === undefined || readiness === undefined
        ? undefined
        : await startOpsServer({ service: name, ...opsAddress(settings, opsPort), readiness, logger });
    return {
      async close() {
        await ops?.close();
        await service.close();
        await tracing?.shutdown();
      },
    };
  });
}
