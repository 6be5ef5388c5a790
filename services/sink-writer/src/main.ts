import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings, opsAddress, startOpsServer, startTracing } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startSinkWriter } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("sink-writer", settings.logLevel);
const tracing = startTracing("varstream-sink-writer"); // OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set
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
      await tracing?.shutdown();
    },
  };
});
