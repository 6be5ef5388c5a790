import type { Bundle } from "@varstream/bundle";
import { createLogger, type Logger, type Settings, scopeKey, topicNames } from "@varstream/shared";
import { applyDesired, createSink, type Desired, resolveSecrets } from "@varstream/sinks";
import { recordControl } from "./audit.ts";
import { openCliKafka, readStored } from "./desired.ts";

export interface ReplayOptions {
  settings: Settings;
  bundle: Bundle;
  sink: string;
  /** ISO date-time: re-read from the first record at or after it, instead of from the beginning */
  toDatetime?: string;
  logger?: Logger;
}

/**
 * `varstream replay --sink <name> [--to-datetime T]`: resets the sink's consumer group
 * through the admin API so the sink writer re-reads the compacted `keysets` topic and converges the
 * sink to the desired state of every scope. Kafka only moves the offsets of a group without members,
 * so the sink's writer must be stopped first; it is started again after.
 */
export async function replayGroup(options: ReplayOptions): Promise<{ groupId: string; partitions: number }> {
  const { settings } = options;
  if (!options.bundle.datasources.has(options.sink)) throw new Error(`no datasource named ${options.sink}`);
  const logger = options.logger ?? createLogger("cli", "warn");
  const { kafka } = await openCliKafka(settings, options.bundle, logger);
  const topic = topicNames(settings.topicPrefix).keysets;
  const groupId = `${settings.topicPrefix}sink.${options.sink}`;
  const recorded = (detail: string) => recordControl(kafka, settings, logger, "replay", options.sink, detail);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) {
      throw new Error(
        `group ${groupId} has ${members} active member(s): stop the sink writer for ${options.sink} first`,
      );
    }
    if (options.toDatetime !== undefined) {
      const at = Date.parse(options.toDatetime);
      if (Number.isNaN(at)) throw new Error(`--to-datetime ${options.toDatetime} is not a date-time`);
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, at);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset })),
      });
      await recorded(`group ${groupId} set to ${options.toDatetime}`);
      return { groupId, partitions: offsets.length };
    }
    await admin.resetOffsets({ groupId, topic, earliest: true });
    const partitions = (await admin.fetchTopicOffsets(topic)).length;
    await recorded(`group ${groupId} reset to the earliest offsets`);
    return { groupId, partitions };
  } finally {
    await admin.disconnect();
  }
}

/**
 * `varstream replay --sink <name> --new-sink`: rebuilds the sink's store (as the bundle describes it,
 * typically a new and empty one) directly from the compacted topic, every key written, without
 * touching the sink writer's group. Returns what was written.
 */
export async function rebuildSink(options: ReplayOptions): Promise<{ scopes: number; keys: number; failed: string[] }> {
  const { settings, bundle } = options;
  const entry = bundle.datasources.get(options.sink);
  if (!entry) throw new Error(`no datasource named ${options.sink}`);
  const logger = options.logger ?? createLogger("cli", "warn");
  const { kafka, secrets } = await openCliKafka(settings, bundle, logger);
  const desiredState = await readStored(kafka, settings, logger, `replay.${options.sink}`, options.sink);
  const sink = await createSink(entry, { secrets, appEnv: settings.appEnv });
  let scopes = 0;
  let keys = 0;
  const failed: string[] = [];
  try {
    for (const keySet of desiredState) {
      const key = scopeKey(keySet.scope);
      const desired: Desired = {
        scope: keySet.scope,
        taskId: `replay-${keySet.task_id}`,
        commit: keySet.commit,
        keySet: { ...keySet, sync_mode: "repair" },
        ...(keySet.version === undefined ? {} : { version: keySet.version }),
      };
      const report = await resolveSecrets(desired, secrets).then(
        (resolved) => applyDesired(sink, resolved, { maxRetries: settings.sinkMaxRetries, retryBaseMs: 200, logger }),
        (err: Error) => ({ outcome: "failed" as const, scope: key, error: err.message, set: 0 }),
      );
      if (report.outcome === "failed") failed.push(`${report.scope}: ${report.error}`);
      else {
        scopes += 1;
        keys += report.set;
      }
    }
  } finally {
    await sink.close();
  }
  await recordControl(kafka, settings, logger, "replay", options.sink, `--new-sink: ${scopes} scopes, ${keys} keys`);
  return { scopes, keys, failed };
}
