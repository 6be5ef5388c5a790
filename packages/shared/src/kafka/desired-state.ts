import type { Kafka } from "kafkajs";
import { KeySet, parseScopeKey } from "../contracts/keyset.ts";
import type { Logger } from "../log.ts";
import { DecodeError, jsonCodec, type RecordCodec } from "./codec.ts";
import { materialize } from "./materialize.ts";

/**
 * The desired state of one datasource (or, without one, of all) as the compacted `keysets` topic holds
 * it now: the latest key set of every scope, scopes whose file was deleted (tombstoned) left out. Read
 * once, to the end.
 */
export async function readDesiredState(
  kafka: Kafka,
  options: {
    topic: string;
    groupPrefix: string;
    purpose: string;
    logger: Logger;
    datasource: string | undefined;
    /** how values are read (default: plain JSON, framed values' ids unchecked) */
    codec?: RecordCodec;
  },
): Promise<KeySet[]> {
  const latest = new Map<string, KeySet | null>();
  const reader = await materialize(kafka, {
    topic: options.topic,
    groupPrefix: options.groupPrefix,
    purpose: options.purpose,
    logger: options.logger,
    onRecord: async (message) => {
      if (message.key === null) return;
      const key = message.key.toString();
      if (options.datasource !== undefined && parseScopeKey(key).datasource !== options.datasource) return;
      if (message.value === null) {
        latest.set(key, null);
        return;
      }
      try {
        latest.set(key, await (options.codec ?? jsonCodec).decode(KeySet, message.value, message.headers));
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        options.logger.warn({ key, err: err.message }, "skipping a key set that does not decode");
      }
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  return [...latest.values()].filter((k): k is KeySet => k !== null);
}
