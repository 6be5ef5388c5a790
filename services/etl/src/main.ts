import { loadBundle } from "@varstream/bundle";
import { runService } from "@varstream/shared/process";
import { startEtl } from "./service.ts";

await runService(
  "etl",
  async (settings, logger) => startEtl({ settings, bundle: await loadBundle(settings.configPath), logger }),
  9101,
);
