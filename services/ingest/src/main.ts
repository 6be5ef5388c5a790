import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startIngest } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("ingest", settings.logLevel);
await runUntilSignal(logger, async () =>
  startIngest({ settings, bundle: await loadBundle(settings.configPath), logger }),
);
