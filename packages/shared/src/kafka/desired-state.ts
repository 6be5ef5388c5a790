import type { Kafka } from "kafkajs";
import { KeySet, parseScopeKey } from "../contracts/keyset.ts";
import type { Logger } from "../log.ts";
import { materialize } from "./materialize.ts";

/**
 * The desired state of one datasource as the compacted `keysets` topic holds it now: the latest key
 * set of every scope, scopes whose file was deleted (tombstoned) left out. Read once, to the end.
 */
export async function readDesiredState(
  kafka: Kafka,
  options: { topic: string; groupPrefix: string; purpose: string; logger: Logger; datasource: string },
): Promise<KeySet[]> {
  const latest = new Map<string, KeySet | null>();
  const reader = await materialize(kafka, {
    topic: options.topic,
    groupPrefix: options.groupPrefix,
    purpose: options.purpose,
    logger: options.logger,
    onRecord: (message) => {
      if (message.key === null) return;
      const key = message.key.toString();
      if (parseScopeKey(key).datasource !== options.datasource) return;
      if (message.value === null) {
        latest.set(key, null);
        return;
      }
      const parsed = KeySet.safeParse(JSON.parse(message.value.toString("utf8")));
      if (parsed.success) latest.set(key, parsed.data);
      else options.logger.warn({ key }, "skipping a key set that breaks its contract");
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  return [...latest.values()].filter((k): k is KeySet => k !== null);
}
