import type { Bundle } from "@varstream/bundle";
import {
  type KeySet,
  type Logger,
  openKafka,
  readDesiredState,
  readingCodec,
  Secrets,
  type Settings,
  topicNames,
} from "@varstream/shared";
import type { Kafka } from "kafkajs";

/** The CLI's Kafka client, with the bundle's secret managers for credential references. */
export async function openCliKafka(
  settings: Settings,
  bundle: Bundle,
  logger: Logger,
): Promise<{ kafka: Kafka; secrets: Secrets }> {
  const secrets = new Secrets(bundle.secretManagers ? { managers: bundle.secretManagers } : {});
  const { kafka } = await openKafka(settings, logger, { secrets, waitMs: 5000 });
  return { kafka, secrets };
}

/** The stored desired state (one datasource's, or all) as the compacted `keysets` topic holds it. */
export function readStored(
  kafka: Kafka,
  settings: Settings,
  logger: Logger,
  purpose: string,
  datasource: string | undefined,
): Promise<KeySet[]> {
  return readDesiredState(kafka, {
    topic: topicNames(settings.topicPrefix).keysets,
    groupPrefix: settings.topicPrefix,
    purpose,
    logger,
    datasource,
    codec: readingCodec(settings.schemaRegistry),
  });
}
