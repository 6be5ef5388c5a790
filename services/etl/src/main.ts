import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings, opsAddress, startOpsServer } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startEtl } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("etl", settings.logLevel);
await runUntilSignal(logger, async () => {
  const etl = await startEtl({ settings, bundle: await loadBundle(settings.configPath), logger });
  const ops = await startOpsServer({
    service: "etl",
    ...opsAddress(settings, 9101),
    readiness: () => etl.readiness(),
    logger,
  });
  return {
    async close() {
      await ops.close();
      await etl.close();
    },
  };
});
