import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startSinkWriter } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("sink-writer", settings.logLevel);
await runUntilSignal(logger, async () =>
  startSinkWriter({ settings, bundle: await loadBundle(settings.configPath), logger }),
);
