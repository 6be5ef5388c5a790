import type { Bundle } from "@varstream/bundle";
import { orphanedScopes } from "@varstream/pipeline";
import { type KeySet, type Logger, metrics, readDesiredState } from "@varstream/shared";
import type { DesiredStateSource } from "./resync.ts";

/**
 * At start: the stored scopes no rule of this bundle produces any more (a rule removed, a
 * `destination_template` changed), per datasource, logged with their key counts and set on
 * `varstream_orphaned_scopes`. Nothing is removed: `varstream prune-orphans --datasource D --apply` does
 * that, and resyncs leave them out meanwhile. Runs beside consuming; a failure is logged, never fatal.
 */
export async function reportOrphans(bundle: Bundle, source: DesiredStateSource, logger: Logger): Promise<void> {
  try {
    // A reader that crashes fails this check only, never the ETL.
    const desired = await new Promise<KeySet[]>((resolve, reject) => {
      readDesiredState(source.kafka, {
        topic: source.topic,
        groupPrefix: source.groupPrefix,
        purpose: "etl.orphans",
        logger,
        datasource: undefined,
        onFatal: reject,
        ...(source.codec ? { codec: source.codec } : {}),
      }).then(resolve, reject);
    });
    const orphans = orphanedScopes(bundle, desired);
    for (const datasource of bundle.datasources.keys()) {
      const mine = orphans.filter((o) => o.datasource === datasource);
      metrics.orphanedScopes.set({ datasource }, mine.length);
      if (mine.length === 0) continue;
      logger.warn(
        {
          datasource,
          scopes: mine.length,
          keys: mine.reduce((n, o) => n + o.keys, 0),
          examples: mine.slice(0, 5).map((o) => o.scope),
        },
        `orphaned scopes: no rule produces them any more; varstream prune-orphans --datasource ${datasource} lists them, --apply removes their keys`,
      );
    }
  } catch (err) {
    logger.warn({ err: (err as Error).message }, "orphaned scopes not checked");
  }
}
