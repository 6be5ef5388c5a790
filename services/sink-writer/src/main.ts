import { loadBundle } from "@varstream/bundle";
import { runService } from "@varstream/shared/process";
import { startSinkWriter } from "./service.ts";

await runService(
  "sink-writer",
  async (settings, logger) => startSinkWriter({ settings, bundle: await loadBundle(settings.configPath), logger }),
  9102,
);
