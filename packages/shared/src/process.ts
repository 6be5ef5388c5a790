import type { Logger } from "./log.ts";

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
