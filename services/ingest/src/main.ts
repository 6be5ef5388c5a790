import { loadBundle } from "@varstream/bundle";
import { runService } from "@varstream/shared/process";
import { startIngest } from "./service.ts";

await runService("ingest", async (settings, logger) =>
  startIngest({ settings, bundle: await loadBundle(settings.configPath), logger }),
);
