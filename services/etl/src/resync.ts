import { KeySet, type Logger, materialize, type ResyncEvent, scopeKey } from "@varstream/shared";
import type { Kafka } from "kafkajs";
import type { EtlOutput } from "./process-event.ts";

export interface DesiredStateSource {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  logger: Logger;
}

/**
 * Resync (SPEC §8.2): the desired key sets of the datasource, read from the compacted `keysets` topic
 * (its latest record per scope, tombstoned scopes left out), re-emitted in `repair` mode under the
 * resync's task. Filters: `env`. (Key sets do not record platform or tenant; those filters are ignored.)
 */
export async function resync(event: ResyncEvent, source: DesiredStateSource): Promise<EtlOutput> {
  const latest = new Map<string, KeySet | null>();
  const reader = await materialize(source.kafka, {
    topic: source.topic,
    groupPrefix: source.groupPrefix,
    purpose: "etl.resync",
    logger: source.logger,
    onRecord: (message) => {
      if (message.key === null) return;
      const key = message.key.toString();
      if (message.value === null) {
        latest.set(key, null);
        return;
      }
      const parsed = KeySet.safeParse(JSON.parse(message.value.toString("utf8")));
      if (parsed.success) latest.set(key, parsed.data);
    },
  });
  try {
    await reader.caughtUp;
  } finally {
    await reader.stop();
  }
  const now = new Date().toISOString();
  const keysets = [...latest.values()]
    .filter((k): k is KeySet => k !== null)
    .filter((k) => k.scope.datasource === event.datasource)
    .filter((k) => event.filters.env === undefined || k.env === event.filters.env)
    .map((k) => ({
      ...k,
      task_id: event.task_id,
      sync_mode: "repair" as const,
      produced_at: now,
      received_at: event.received_at,
    }));
  const scopes = keysets.map((k) => scopeKey(k.scope));
  return {
    keysets,
    tombstones: [],
    report: {
      component: "etl",
      task_id: event.task_id,
      outcome: keysets.length === 0 ? "no_match" : "emitted",
      message:
        keysets.length === 0 ? "resync: no scope to repair" : `resync: ${keysets.length} scope(s) in repair mode`,
      commit: "",
      files: [],
      scopes,
      warnings: [],
      at: now,
    },
  };
}
