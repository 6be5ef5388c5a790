import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings, opsAddress, startOpsServer } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startSinkWriter } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("sink-writer", settings.logLevel);
await runUntilSignal(logger, async () => {
  const writer = await startSinkWriter({ settings, bundle: await loadBundle(settings.configPath), logger });
  const ops = await startOpsServer({
    service: "sink-writer",
    ...opsAddress(settings, 9102),
    readiness: () => writer.readiness(),
    logger,
  });
  return {
    async close() {
      await ops.close();
      await writer.close();
    },
  };
});
