import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings, startTracing } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startIngest } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("ingest", settings.logLevel);
const tracing = startTracing("varstream-ingest"); // OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set
await runUntilSignal(logger, async () => {
  const ingest = await startIngest({ settings, bundle: await loadBundle(settings.configPath), logger });
  return {
    async close() {
      await ingest.close();
      await tracing?.shutdown();
    },
  };
});
