import type { Kafka } from "kafkajs";
import { KeySet, parseScopeKey } from "../contracts/keyset.ts";
import type { Logger } from "../log.ts";
import { DecodeError, headerVersion, jsonCodec, type RecordCodec } from "./codec.ts";
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
    /** the reader's consumer crashed for good (default: the process exits, as for every consumer) */
    onFatal?: (err: Error) => void;
  },
): Promise<KeySet[]> {
  // Per scope, the record of the highest version (the later one on a tie, or when either has none): a
  // resync's re-emission of an older state, refused by the sinks, is not the desired state.
  const latest = new Map<string, { keySet: KeySet | null; version: number | undefined }>();
  const keep = (key: string, keySet: KeySet | null, version: number | undefined) => {
    const held = latest.get(key);
    if (held?.version !== undefined && version !== undefined && version < held.version) return;
    latest.set(key, { keySet, version });
  };
  const reader = await materialize(kafka, {
    topic: options.topic,
    groupPrefix: options.groupPrefix,
    purpose: options.purpose,
    logger: options.logger,
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
    onRecord: async (message) => {
      if (message.key === null) return;
      const key = message.key.toString();
      if (options.datasource !== undefined && parseScopeKey(key).datasource !== options.datasource) return;
      if (message.value === null) {
        keep(key, null, headerVersion(message.headers));
        return;
      }
      try {
        const keySet = await (options.codec ?? jsonCodec).decode(KeySet, message.value, message.headers);
        keep(key, keySet, keySet.version);
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
  return [...latest.values()].map((held) => held.keySet).filter((k): k is KeySet => k !== null);
}
