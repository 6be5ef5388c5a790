import type { Bundle } from "@varstream/bundle";
import { type Orphan, orphanedScopes } from "@varstream/pipeline";
import {
  createLogger,
  type Logger,
  type Settings,
  topicNames,
  VERSION_HEADER,
  varstreamPartitioner,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";
import { recordControl } from "./audit.ts";
import { openCliKafka, readStored } from "./desired.ts";

export interface OrphanOptions {
  settings: Settings;
  bundle: Bundle;
  /** one datasource; all of the bundle's when absent */
  datasource?: string;
  logger?: Logger;
}

/**
 * `varstream plan` and `varstream prune-orphans` (dry-run): the scopes in the compacted `keysets` topic
 * that no rule of the bundle (CONFIG_PATH) produces any more, with their key counts.
 */
export async function findOrphans(options: OrphanOptions): Promise<Orphan[]> {
  return (await scan(options)).orphans;
}

async function scan(options: OrphanOptions): Promise<{ orphans: Orphan[]; kafka: Kafka; logger: Logger }> {
  const { settings, bundle } = options;
  if (options.datasource !== undefined && !bundle.datasources.has(options.datasource)) {
    throw new Error(`no datasource named ${options.datasource}`);
  }
  const logger = options.logger ?? createLogger("cli", "warn");
  const { kafka } = await openCliKafka(settings, bundle, logger);
  const desired = await readStored(kafka, settings, logger, "cli.orphans", options.datasource);
  return { orphans: orphanedScopes(bundle, desired), kafka, logger };
}

/**
 * `varstream prune-orphans --datasource D --apply`: a tombstone for each orphaned scope of D on
 * `keysets` (on its destination's partition, versioned now), so D's sink writers prune exactly the keys
 * of those scopes' manifests and the compacted topic forgets them; recorded on the audit trail.
 */
export async function pruneOrphans(options: OrphanOptions & { datasource: string }): Promise<Orphan[]> {
  const { orphans, kafka, logger } = await scan(options);
  if (orphans.length === 0) return orphans;
  const { settings } = options;
  const topics = topicNames(settings.topicPrefix);
  const producer = kafka.producer({ idempotent: true, createPartitioner: varstreamPartitioner(topics) });
  await producer.connect();
  try {
    // Newer than what each orphan holds, whatever this host's clock says: the sinks take it.
    const now = Date.now();
    await producer.send({
      topic: topics.keysets,
      acks: -1,
      messages: orphans.map((o) => ({
        key: o.scope,
        value: null,
        headers: { "task-id": "", commit: "", [VERSION_HEADER]: String(Math.max(now, (o.version ?? 0) + 1)) },
      })),
    });
  } finally {
    await producer.disconnect();
  }
  const keys = orphans.reduce((n, o) => n + o.keys, 0);
  await recordControl(
    kafka,
    settings,
    logger,
    "prune-orphans",
    options.datasource,
    `${orphans.length} orphaned scope(s), ${keys} key(s): ${orphans.map((o) => o.scope).join(", ")}`,
  );
  return orphans;
}

/** The human listing of orphans, one line per scope. */
export function orphanLines(orphans: Orphan[]): string[] {
  return orphans.map((o) => `orphaned ${o.scope} (env ${o.env}): ${o.keys} key(s)`);
}
