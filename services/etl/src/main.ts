import { loadBundle } from "@varstream/bundle";
import { createLogger, loadSettings } from "@varstream/shared";
import { runUntilSignal } from "@varstream/shared/process";
import { startEtl } from "./service.ts";

const settings = loadSettings();
const logger = createLogger("etl", settings.logLevel);
await runUntilSignal(logger, async () => startEtl({ settings, bundle: await loadBundle(settings.configPath), logger }));
