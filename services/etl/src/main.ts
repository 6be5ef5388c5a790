import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings, opsAddress, startOpsServer, startTracing } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startEtl } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("etl", settings.logLevel);
const tracing = startTracing("varstream-etl"); // OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set
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
      await tracing?.shutdown();
    },
  };
});
